/* Starts Swagger UI on /api/v1/docs. A file of its own, not an inline
   script, so the page keeps the console's Content-Security-Policy
   (script-src 'self'). No validator badge: nothing is fetched from
   another host. */
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    docExpansion: "list",
    filter: true,
    displayRequestDuration: true,
    persistAuthorization: false
  });
})();
