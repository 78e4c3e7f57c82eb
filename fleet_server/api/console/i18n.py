"""Every word the console shows, in Vietnamese (the operators' working
language, the default) and English.

Templates call ``t("key")``; a key missing from the table is an error, so no
page can show an untranslated string. Values of the domain (board states,
severities, roles, ticket states…) are keys too: ``t("state." + board.state)``.
Times are shown in Vietnam time (UTC+7, no daylight saving).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from fleet_server.content.models import LANGUAGES as CONTENT_LANGUAGES

LANGUAGES = ("vi", "en")
DEFAULT = "vi"
VIETNAM = timezone(timedelta(hours=7), "ICT")

Translate = Callable[..., str]

#: key -> (Vietnamese, English). ``{name}`` placeholders are filled by ``t``.
STRINGS: dict[str, tuple[str, str]] = {
    # the frame
    "app.name": ("Bảng tin điện tử Lai Châu", "Lai Châu information boards"),
    "app.tagline": (
        "Giám sát cụm thông tin điện tử công cộng",
        "Monitoring of the public electronic information boards",
    ),
    "nav.menu": ("Danh mục", "Menu"),
    "nav.overview": ("Tổng quan", "Overview"),
    "nav.incidents": ("Sự cố", "Incidents"),
    "nav.tickets": ("Phiếu bảo trì", "Tickets"),
    "nav.cameras": ("Camera", "Cameras"),
    "nav.audit": ("Nhật ký", "Audit log"),
    "nav.content": ("Nội dung đã duyệt", "Approved content"),
    "nav.reports": ("Báo cáo", "Reports"),
    "nav.logout": ("Đăng xuất", "Log out"),
    "nav.language": ("English", "Tiếng Việt"),
    "nav.skip": ("Bỏ qua đến nội dung", "Skip to content"),
    "nav.signed_in_as": ("Đăng nhập: {name} ({role})", "Signed in: {name} ({role})"),
    "live.updated": ("Cập nhật lúc {time}", "Updated at {time}"),
    "live.paused": (
        "Phiên đăng nhập đã hết hạn. Tải lại trang để đăng nhập lại.",
        "Your session has ended. Reload the page to sign in again.",
    ),
    "live.offline": (
        "Mất kết nối tới máy chủ; đang thử lại…",
        "Lost contact with the server; retrying…",
    ),
    # login
    "login.title": ("Đăng nhập", "Sign in"),
    "login.username": ("Tên đăng nhập", "Username"),
    "login.password": ("Mật khẩu", "Password"),
    "login.submit": ("Đăng nhập", "Sign in"),
    "login.failed": ("Sai tên đăng nhập hoặc mật khẩu.", "Wrong username or password."),
    "login.locked": (
        "Tạm khóa do đăng nhập sai nhiều lần. Vui lòng thử lại sau.",
        "Temporarily locked after repeated failed sign-ins. Please try again later.",
    ),
    "login.missing": (
        "Nhập tên đăng nhập và mật khẩu.",
        "Enter your username and password.",
    ),
    "login.personal": (
        "Tài khoản là của riêng từng người; mọi thao tác đều được ghi nhật ký (Điều 9.2).",
        "Accounts are personal; every action is recorded in the audit log (Article 9.2).",
    ),
    # errors
    "error.title": ("Lỗi {status}", "Error {status}"),
    "error.400": ("Yêu cầu không hợp lệ.", "The request is not valid."),
    "error.401": ("Cần đăng nhập.", "Please sign in."),
    "error.403": (
        "Tài khoản của bạn không có quyền xem hoặc làm việc này.",
        "Your account may not see or do this.",
    ),
    "error.403.csrf": (
        "Biểu mẫu đã hết hạn hoặc không hợp lệ. Tải lại trang và thử lại.",
        "The form has expired or is not valid. Reload the page and try again.",
    ),
    "error.400.note-required": (
        "Cần ghi chú đã làm gì trước khi đóng.",
        "Write a note on what was done before closing.",
    ),
    "error.400.assignee-required": ("Chọn người nhận việc.", "Say who gets the ticket."),
    "error.422.assignee-out-of-scope": (
        "Người này không được xem điểm của phiếu: giao cho người thuộc đơn vị, điểm hoặc tổ"
        " phụ trách điểm đó.",
        "This person may not see the ticket's site: give it to someone whose organisation,"
        " sites or team include it.",
    ),
    "error.400.empty": ("Nội dung không được để trống.", "The text cannot be empty."),
    "error.400.confirmation-required": (
        "Hãy đánh dấu ô xác nhận trước khi khởi động lại bảng tin.",
        "Tick the confirmation box before rebooting the board.",
    ),
    "error.400.cost": (
        "Phần chi phí chưa điền đúng (hạng mục, nội dung, số tiền).",
        "The cost is not filled in correctly (category, description, amount).",
    ),
    "error.404": ("Không tìm thấy trang hoặc đối tượng này.", "This page or object was not found."),
    "error.409": (
        "Không thực hiện được: trạng thái đã thay đổi.",
        "Not done: the state has changed.",
    ),
    "error.422": ("Dữ liệu nhập chưa đúng.", "Some of the input is not valid."),
    "error.429": ("Quá nhiều yêu cầu. Vui lòng thử lại sau.", "Too many requests. Try later."),
    "error.500": (
        "Máy chủ gặp lỗi. Sự cố đã được ghi lại; vui lòng thử lại sau.",
        "The server ran into an error. It has been logged; please try again later.",
    ),
    "error.other": ("Đã có lỗi xảy ra.", "Something went wrong."),
    "error.422.windows-invalid": (
        "Giá trị nhập không hợp lệ: giờ kết thúc phải sau giờ bắt đầu và các khung giờ không"
        " được chồng lên nhau. Quay lại và sửa.",
        "Invalid values: each end must be after its start and windows may not overlap."
        " Go back and correct them.",
    ),
    "error.400.windows-form": (
        "Mỗi buổi cần cả giờ bắt đầu và giờ kết thúc (giờ:phút), hoặc để trống cả hai.",
        "Each part needs both a start and an end (hours:minutes), or neither.",
    ),
    "error.detail": ("Chi tiết: {detail}", "Details: {detail}"),
    "error.home": ("Về trang chính", "Back to the start page"),
    "error.back": ("Quay lại", "Go back"),
    # board and site states
    "state.online": ("Trực tuyến", "Online"),
    "state.offline": ("Ngoại tuyến", "Offline"),
    "state.lost": ("Mất liên lạc", "Lost"),
    "state.stale": ("Dữ liệu cũ", "Stale"),
    "state.unknown": ("Chưa rõ", "Unknown"),
    "state.total": ("Tổng số bảng", "All boards"),
    "health.online": ("Bình thường", "Healthy"),
    "health.degraded": ("Có vấn đề", "Problems"),
    "health.offline": ("Mất toàn bộ", "All down"),
    "health.unknown": ("Chưa rõ", "Unknown"),
    "site_kind.border_gate": ("Cửa khẩu", "Border gate"),
    "site_kind.district_centre": ("Trung tâm huyện", "District centre"),
    "site_kind.city": ("Thành phố", "City"),
    "site_kind.other": ("Khác", "Other"),
    # severities, classes and incident states
    "severity.critical": ("Nghiêm trọng", "Critical"),
    "severity.major": ("Lớn", "Major"),
    "severity.minor": ("Nhỏ", "Minor"),
    "severity.warning": ("Cảnh báo", "Warning"),
    "class.technical": ("Kỹ thuật", "Technical"),
    "class.security": ("An toàn thông tin", "Information security"),
    "class.compliance": ("Tuân thủ phát sóng", "Broadcast compliance"),
    "incident_state.open": ("Mới", "Open"),
    "incident_state.acknowledged": ("Đã tiếp nhận", "Acknowledged"),
    "incident_state.resolved": ("Đã xử lý", "Resolved"),
    # roles
    "role.admin": ("Quản trị", "Administrator"),
    "role.operator": ("Vận hành", "Operator"),
    "role.technician": ("Kỹ thuật viên", "Technician"),
    "role.border_guard": ("Biên phòng", "Border Guard"),
    "role.viewer": ("Xem", "Viewer"),
    # overview
    "overview.title": ("Tổng quan hệ thống", "Fleet overview"),
    "overview.counts": ("Bảng tin theo trạng thái", "Boards by state"),
    "overview.map": ("Bản đồ các điểm", "Map of sites"),
    "overview.map_note": (
        "Vị trí theo tọa độ; màu theo tình trạng xấu nhất của điểm.",
        "Placed by coordinates; coloured by the site's worst state.",
    ),
    "overview.unplaced": (
        "{count} điểm chưa có tọa độ.",
        "{count} sites have no coordinates.",
    ),
    "overview.sites": ("Các điểm (điểm có vấn đề trước)", "Sites (problems first)"),
    "overview.incidents": ("Sự cố đang mở", "Open incidents"),
    "overview.online_of": ("Bảng trực tuyến", "Boards online"),
    "overview.no_sites": ("Không có điểm nào.", "No sites."),
    "overview.all_incidents": ("Xem tất cả sự cố", "See every incident"),
    # sites and boards
    "site.title": ("Điểm {name}", "Site {name}"),
    "site.kind": ("Loại", "Kind"),
    "site.district": ("Huyện", "District"),
    "site.coordinates": ("Tọa độ", "Coordinates"),
    "site.position": ("{lat}°B, {lon}°Đ", "{lat}°N, {lon}°E"),
    "map.lat": ("{degrees}°B", "{degrees}°N"),
    "map.lon": ("{degrees}°Đ", "{degrees}°E"),
    "site.boards": ("Bảng tin", "Boards"),
    "site.health": ("Tình trạng", "Health"),
    "site.incidents": ("Sự cố đang mở", "Open incidents"),
    "site.tickets": ("Phiếu bảo trì", "Tickets"),
    "site.name": ("Điểm", "Site"),
    "board.title": ("Bảng tin {id}", "Board {id}"),
    "board.id": ("Mã bảng", "Board id"),
    "board.name": ("Tên", "Name"),
    "board.site": ("Điểm", "Site"),
    "board.state": ("Trạng thái", "State"),
    "board.since": ("Từ", "Since"),
    "board.last_seen": ("Liên lạc lần cuối", "Last heard"),
    "board.reason": ("Lý do", "Reason"),
    "board.model": ("Thiết bị", "Model"),
    "board.installed": ("Lắp đặt", "Installed"),
    "board.disabled": ("Đã tắt giám sát", "Monitoring disabled"),
    "board.readings": ("Số đo mới nhất", "Latest readings"),
    "board.no_readings": ("Chưa nhận được số đo.", "No readings received yet."),
    "board.charts": ("24 giờ qua", "Last 24 hours"),
    "board.no_data": ("Không có dữ liệu", "No data"),
    "board.connectivity": ("Lịch sử kết nối", "Connectivity history"),
    "board.no_history": ("Chưa có thay đổi trạng thái.", "No state changes yet."),
    "board.cameras": ("Camera", "Cameras"),
    "board.incidents": ("Sự cố đang mở", "Open incidents"),
    "board.tickets": ("Phiếu bảo trì", "Tickets"),
    "board.measured": ("đo lúc {time}", "measured {time}"),
    "board.open_incidents": ("Sự cố", "Incidents"),
    "reading.heartbeat": ("Bộ điều khiển", "Controller"),
    "reading.power": ("Nguồn điện", "Power"),
    "reading.network": ("Mạng", "Network"),
    "reading.display": ("Màn hình", "Display"),
    "reading.mains_present": ("Có điện lưới", "Mains present"),
    "reading.on_battery": ("Đang chạy pin", "On battery"),
    "reading.battery_percent": ("Pin UPS", "UPS battery"),
    "reading.runtime": ("Thời gian pin còn lại", "Battery runtime left"),
    "reading.input_voltage": ("Điện áp vào", "Input voltage"),
    "reading.link_up": ("Có kết nối mạng", "Link up"),
    "reading.rtt": ("Độ trễ", "Round trip"),
    "reading.loss": ("Mất gói", "Packet loss"),
    "reading.lte_operator": ("Nhà mạng 4G", "4G operator"),
    "reading.lte_signal": ("Sóng 4G", "4G signal"),
    "reading.lte_rsrp": ("RSRP", "RSRP"),
    "reading.screen_on": ("Màn hình bật", "Screen on"),
    "reading.player_running": ("Trình phát đang chạy", "Player running"),
    "reading.content_kind": ("Loại nội dung", "Content kind"),
    "reading.content_id": ("Nội dung", "Content"),
    "reading.uptime": ("Thời gian chạy", "Uptime"),
    "reading.cpu": ("CPU", "CPU"),
    "reading.memory": ("Bộ nhớ", "Memory"),
    "reading.disk": ("Ổ đĩa", "Disk"),
    "reading.temperature": ("Nhiệt độ", "Temperature"),
    "reading.agent_version": ("Phiên bản phần mềm", "Agent version"),
    "reading.spool_pending": ("Bản tin chờ gửi", "Messages waiting to send"),
    "content_kind.propaganda": ("Tuyên truyền", "Public information"),
    "content_kind.advertising": ("Quảng cáo", "Advertising"),
    "content_kind.emergency": ("Khẩn cấp", "Emergency"),
    "unit.minutes": ("phút", "min"),
    "unit.hours": ("giờ", "h"),
    "chart.battery_percent_min": ("Pin UPS (thấp nhất)", "UPS battery (lowest)"),
    "chart.input_voltage_v": ("Điện áp lưới", "Mains voltage"),
    "chart.rtt_ms": ("Độ trễ mạng", "Network round trip"),
    "chart.loss_percent": ("Mất gói", "Packet loss"),
    "chart.temperature_c_max": ("Nhiệt độ bộ điều khiển", "Controller temperature"),
    "chart.screen_on_share": ("Màn hình bật", "Screen on"),
    "chart.window": ("24 giờ trước", "24 h ago"),
    "chart.latest": ("mới nhất {value}", "latest {value}"),
    "history.at": ("Thời điểm", "At"),
    "history.change": ("Thay đổi", "Change"),
    # remote commands and configuration (board page)
    "commands.title": ("Lệnh", "Commands"),
    "commands.send": ("Gửi lệnh tới bảng tin", "Send a command to the board"),
    "commands.intro": (
        "Lệnh hết hạn nếu bảng tin không nhận được kịp thời; lệnh đã hết hạn không bao giờ"
        " được thực hiện. Mọi lệnh đều được ghi nhật ký.",
        "A command expires if the board does not get it in time; an expired command is never"
        " executed. Every command is recorded in the audit log.",
    ),
    "commands.none": ("Chưa có lệnh nào.", "No commands yet."),
    "commands.issued": ("Gửi lúc", "Issued"),
    "commands.command": ("Lệnh", "Command"),
    "commands.state": ("Trạng thái", "State"),
    "commands.by": ("Người gửi", "By"),
    "commands.answer": ("Bảng trả lời", "Board's answer"),
    "commands.expires": ("hết hạn lúc {time}", "expires {time}"),
    "commands.awaiting": ("chờ bảng kết nối lại", "waiting for the board to reconnect"),
    "commands.reboot_confirm": (
        "Tôi xác nhận khởi động lại bảng tin (màn hình tắt trong vài phút)",
        "I confirm rebooting the board (the screen goes dark for a few minutes)",
    ),
    "command.ping": ("Kiểm tra kết nối", "Ping"),
    "command.collect_now": ("Đo ngay", "Collect now"),
    "command.restart_player": ("Khởi động lại trình phát", "Restart the player"),
    "command.reboot": ("Khởi động lại bảng tin", "Reboot the board"),
    "command.set_config": ("Đổi cấu hình", "Change settings"),
    "command_state.queued": ("Chờ gửi", "Queued"),
    "command_state.sent": ("Đã gửi", "Sent"),
    "command_state.delivered": ("Bảng đã nhận", "Delivered"),
    "command_state.succeeded": ("Thành công", "Succeeded"),
    "command_state.failed": ("Lỗi", "Failed"),
    "command_state.rejected": ("Bị từ chối", "Rejected"),
    "command_state.expired": ("Hết hạn", "Expired"),
    "config.desired": ("Phiên bản cấu hình mong muốn", "Desired configuration version"),
    "config.applied": ("Phiên bản bảng đã áp dụng", "Version the board applied"),
    "config.in_sync": ("đã đồng bộ", "in sync"),
    "config.pending": ("chưa áp dụng", "not applied yet"),
    "config.failed": ("Không áp dụng được", "Could not apply"),
    # cameras
    "cameras.title": ("Tình trạng camera", "Camera status"),
    "cameras.intro": (
        "Chỉ hiển thị trạng thái; tài khoản camera không bao giờ rời khỏi bảng tin (Điều 13.1.b).",
        "Status only: camera accounts never leave the board (Article 13.1.b).",
    ),
    "cameras.camera": ("Camera", "Camera"),
    "cameras.site": ("Điểm", "Site"),
    "cameras.reachable": ("Kết nối", "Reachable"),
    "cameras.stream": ("Luồng hình", "Stream"),
    "cameras.latency": ("Độ trễ", "Latency"),
    "cameras.checked": ("Kiểm tra lúc", "Checked"),
    "cameras.none": ("Không có camera nào.", "No cameras."),
    "cameras.filter_all": ("Tất cả", "All"),
    "cameras.incidents": ("Sự cố camera đang mở", "Open camera incidents"),
    "cameras.incident": ("Sự cố #{id}", "Incident #{id}"),
    "camera_status.ok": ("Tốt", "OK"),
    "camera_status.unauthorized": ("Từ chối đăng nhập", "Login refused"),
    "camera_status.stream_missing": ("Mất luồng hình", "No stream"),
    "camera_status.timeout": ("Quá thời gian chờ", "Timed out"),
    "camera_status.refused": ("Từ chối kết nối", "Connection refused"),
    "camera_status.bad_response": ("Trả lời sai", "Bad response"),
    "camera_status.error": ("Lỗi", "Error"),
    "camera_health.ok": ("Hoạt động tốt", "Working"),
    "camera_health.failing": ("Có vấn đề", "Failing"),
    "camera_health.unknown": ("Không có báo cáo mới", "No recent report"),
    # incidents
    "incidents.title": ("Sự cố", "Incidents"),
    "incidents.none": ("Không có sự cố nào.", "No incidents."),
    "incidents.state_any": ("Chưa xử lý xong", "Not resolved"),
    "incidents.state_all": ("Tất cả", "All"),
    "incident.severity": ("Mức độ", "Severity"),
    "incident.class": ("Loại", "Class"),
    "incident.state": ("Trạng thái", "State"),
    "incident.acknowledged_by": ("Tiếp nhận: {who}", "Acknowledged by {who}"),
    "incident.resolved_by": ("Xử lý: {who}", "Resolved by {who}"),
    "incident.acknowledge": ("Tiếp nhận", "Acknowledge"),
    "incident.resolve": ("Đóng sự cố", "Resolve"),
    "incident.resolve_note": ("Đã làm gì (bắt buộc)", "What was done (required)"),
    "incident.comment": ("Ý kiến", "Comment"),
    "incident.add_comment": ("Thêm ý kiến", "Add comment"),
    "incident.flapping": ("chập chờn", "flapping"),
    "incident.heading": ("Sự cố #{id}: {title}", "Incident #{id}: {title}"),
    "incident.opened": ("Mở lúc", "Opened"),
    "incident.board": ("Bảng tin", "Board"),
    "incident.rule": ("Quy tắc phát hiện", "Detected by rule"),
    "incident.reopen_count": ("Số lần mở lại", "Times reopened"),
    "incident.parent": ("Thuộc sự cố của điểm", "Part of the site incident"),
    "incident.resolution": ("Cách xử lý", "What was done"),
    "incident.details": ("Thông tin kỹ thuật", "Technical details"),
    "incident.timeline": ("Diễn biến", "Timeline"),
    "incident.tickets": ("Phiếu bảo trì liên quan", "Linked tickets"),
    # tickets
    "tickets.title": ("Phiếu bảo trì", "Maintenance tickets"),
    "tickets.none": ("Không có phiếu nào.", "No tickets."),
    "tickets.open_only": ("Đang mở", "Open"),
    "tickets.all": ("Tất cả", "All"),
    "tickets.mine": ("Của tôi", "Mine"),
    "ticket.heading": ("Phiếu #{id}: {title}", "Ticket #{id}: {title}"),
    "ticket.id": ("Số", "No."),
    "ticket.title": ("Nội dung", "Title"),
    "ticket.kind": ("Loại", "Kind"),
    "ticket.priority": ("Ưu tiên", "Priority"),
    "ticket.state": ("Trạng thái", "State"),
    "ticket.assignee": ("Người nhận", "Assignee"),
    "ticket.team": ("Tổ", "Team"),
    "ticket.due": ("Hạn", "Due"),
    "ticket.overdue": ("quá hạn", "overdue"),
    "ticket.where": ("Ở đâu", "Where"),
    "ticket.created": ("Tạo lúc", "Created"),
    "ticket.nobody": ("chưa giao", "unassigned"),
    "ticket.assign": ("Giao việc", "Assign"),
    "ticket.assign_to": ("Giao cho", "Assign to"),
    "ticket.choose_assignee": ("— Chọn người nhận —", "— Choose who gets it —"),
    "ticket.no_assignees": (
        "Không có ai phù hợp để nhận phiếu này.",
        "Nobody who could take this ticket.",
    ),
    "ticket.assignee_option": (
        "{name} ({username}) · {count} phiếu đang làm",
        "{name} ({username}) · {count} open tickets",
    ),
    "assignee.team": ("Tổ phụ trách điểm", "The site's team"),
    "assignee.site": ("Kỹ thuật viên khu vực", "Technicians of the area"),
    "assignee.organisation": ("Vận hành", "Operators"),
    "assignee.self": ("Bản thân", "Yourself"),
    "ticket.take": ("Tôi nhận việc này", "I'll take it"),
    "ticket.move": ("Chuyển trạng thái", "Change state"),
    "ticket.move_to": ("Chuyển sang", "Move to"),
    "ticket.move_note": (
        "Ghi chú (bắt buộc khi đóng phiếu)",
        "Note (required to close the ticket)",
    ),
    "ticket.final": ("Phiếu đã đóng.", "The ticket is closed."),
    "ticket.comment": ("Ý kiến", "Comment"),
    "ticket.add_comment": ("Thêm ý kiến", "Add comment"),
    "ticket.costs": ("Chi phí", "Costs"),
    "ticket.add_cost": ("Ghi chi phí", "Record a cost"),
    "ticket.cost_category": ("Hạng mục", "Category"),
    "ticket.cost_amount": ("Số tiền (đồng)", "Amount (VND)"),
    "ticket.cost_note": ("Ghi chú", "Note"),
    "ticket.cost_total": ("Tổng", "Total"),
    "ticket.no_costs": ("Chưa có chi phí.", "No costs recorded."),
    "ticket.history": ("Diễn biến", "History"),
    "ticket.incidents": ("Sự cố liên quan", "Linked incidents"),
    "ticket_state.open": ("Mới", "Open"),
    "ticket_state.assigned": ("Đã giao", "Assigned"),
    "ticket_state.in_progress": ("Đang xử lý", "In progress"),
    "ticket_state.on_hold": ("Tạm dừng", "On hold"),
    "ticket_state.resolved": ("Đã xử lý", "Resolved"),
    "ticket_state.closed": ("Đã đóng", "Closed"),
    "priority.urgent": ("Khẩn", "Urgent"),
    "priority.high": ("Cao", "High"),
    "priority.normal": ("Thường", "Normal"),
    "priority.low": ("Thấp", "Low"),
    "ticket_kind.corrective": ("Sửa chữa", "Corrective"),
    "ticket_kind.preventive": ("Bảo dưỡng định kỳ", "Preventive"),
    "ticket_kind.inspection": ("Kiểm tra", "Inspection"),
    "cost.power": ("Điện", "Power"),
    "cost.repair": ("Sửa chữa", "Repair"),
    "cost.maintenance": ("Bảo trì", "Maintenance"),
    "cost.internet": ("Đường truyền Internet", "Internet line"),
    "cost.other": ("Khác", "Other"),
    "event.created": ("Tạo phiếu", "Created"),
    "event.transition": ("Chuyển trạng thái", "State change"),
    "event.comment": ("Ý kiến", "Comment"),
    "event.assigned": ("Giao việc", "Assigned"),
    "event.cost": ("Chi phí", "Cost"),
    "event.incident": ("Gắn sự cố", "Incident linked"),
    "event.opened": ("Mở", "Opened"),
    "event.acknowledged": ("Tiếp nhận", "Acknowledged"),
    "event.resolved": ("Đã xử lý", "Resolved"),
    "event.reopened": ("Mở lại", "Reopened"),
    "event.flapping": ("Chập chờn", "Flapping"),
    "event.attached": ("Gộp vào sự cố điểm", "Attached to site incident"),
    "event.severity": ("Đổi mức độ", "Severity changed"),
    "event.notified": ("Đã báo tin", "Notified"),
    "event.escalated": ("Báo cấp trên", "Escalated"),
    "event.linked": ("Gắn sự cố", "Incident linked"),
    "event.other": ("Khác", "Other"),
    # approved content (Điều 9.3) and broadcast windows (Điều 8.1)
    "content.title": ("Nội dung đã duyệt", "Approved content"),
    "content.intro": (
        "Danh mục nội dung được Sở TT&TT duyệt phát (Điều 9.3). Bảng tin phát tệp không có"
        " trong danh mục, hoặc ngoài thời hạn hiệu lực, là sự cố an toàn thông tin.",
        "Content approved for broadcast by the Department of Information and Communications"
        " (Article 9.3). A board showing a file that is not in the registry, or outside its"
        " validity, is an information-security incident.",
    ),
    "content.how": (
        "Quản trị viên duyệt, sửa, thu hồi nội dung qua API /api/v1/content hoặc lệnh"
        " fleet-server content.",
        "Administrators approve, change and retire content through the API"
        " (/api/v1/content) or the fleet-server content command.",
    ),
    "content.name": ("Tên nội dung", "Title"),
    "content.kind": ("Loại", "Kind"),
    "content.language": ("Ngôn ngữ", "Language"),
    "content.validity": ("Hiệu lực", "Validity"),
    "content.no_end": ("không thời hạn", "no end"),
    "content.from_department": ("Sở cung cấp", "From the Department"),
    "content.approved_by": ("Người duyệt", "Approved by"),
    "content.sha256": ("SHA-256", "SHA-256"),
    "content.played": ("Đã phát", "Played"),
    "content.status": ("Trạng thái", "Status"),
    "content.search": ("Tên hoặc mã", "Title or hash"),
    "content.show": ("Hiển thị", "Show"),
    "content.show_current": ("Đang hiệu lực", "Valid now"),
    "content.show_all": ("Tất cả", "All"),
    "content.none": ("Không có nội dung nào.", "No content."),
    "content_status.valid": ("Đang hiệu lực", "Valid"),
    "content_status.upcoming": ("Chưa hiệu lực", "Not yet valid"),
    "content_status.expired": ("Hết hiệu lực", "Expired"),
    **{f"language.{code}": names for code, names in CONTENT_LANGUAGES.items()},
    "windows.title": ("Khung giờ phát", "Broadcast windows"),
    "windows.intro": (
        "Giờ địa phương. Điều 8.1: phát ít nhất 3 giờ buổi sáng và 3 giờ buổi chiều.",
        "Local time. Article 8.1: at least 3 hours in the morning and 3 in the afternoon.",
    ),
    "windows.part": ("Buổi", "Part"),
    "windows.starts_at": ("Bắt đầu", "Starts"),
    "windows.ends_at": ("Kết thúc", "Ends"),
    "windows.none": ("Chưa đặt khung giờ phát.", "No broadcast windows set."),
    "windows.source.board": ("Khung giờ riêng của bảng tin này", "This board's own windows"),
    "windows.source.site": ("Theo khung giờ của điểm", "The site's windows"),
    "windows.source.none": ("Điểm chưa đặt khung giờ phát", "The site has no windows"),
    "windows.missing": (
        "Thiếu khung giờ buổi {part} (Điều 8.1 yêu cầu 3 giờ).",
        "No {part} window (Article 8.1 asks for 3 hours).",
    ),
    "windows.short": (
        "Khung giờ buổi {part} chỉ có {hours} giờ (Điều 8.1 yêu cầu 3 giờ).",
        "The {part} window is only {hours} h (Article 8.1 asks for 3 hours).",
    ),
    "windows.edit": ("Sửa khung giờ", "Change the windows"),
    "windows.edit_board": ("Đặt khung giờ riêng cho bảng tin", "Set this board's own windows"),
    "windows.empty_hint": (
        "Để trống cả hai ô nếu không phát buổi đó.",
        "Leave both empty for no window in that part.",
    ),
    "windows.save": ("Lưu khung giờ", "Save the windows"),
    "windows.reset": (
        "Bỏ khung giờ riêng, theo khung giờ của điểm",
        "Drop this board's own windows, follow the site's",
    ),
    "part.morning": ("sáng", "morning"),
    "part.afternoon": ("chiều", "afternoon"),
    "part.evening": ("tối", "evening"),
    # reports
    "board.availability_30d": (
        "Tỷ lệ hoạt động 30 ngày qua (không tính bảo trì)",
        "Availability, last 30 days (maintenance excluded)",
    ),
    "reports.title": ("Báo cáo và lưu trữ", "Reports and archive"),
    "reports.compliance": ("Thời lượng phát {days} ngày qua", "Broadcast time, last {days} days"),
    "reports.compliance_intro": (
        "Mỗi bảng phải phát tối thiểu 3 giờ buổi sáng và 3 giờ buổi chiều trong khung giờ"
        " quy định (Điều 8.1). Số ngày-bảng theo kết quả; bên dưới là các ngày không đạt"
        " hoặc thiếu dữ liệu.",
        "Each board must broadcast at least 3 hours in the morning and 3 hours in the"
        " afternoon window (Article 8.1). Board-days by result; below, the days not met"
        " or without enough data.",
    ),
    "reports.no_problems": ("Không có ngày nào không đạt.", "No day failed or lacks data."),
    "reports.day": ("Ngày", "Day"),
    "reports.board": ("Bảng", "Board"),
    "reports.site": ("Điểm đặt", "Site"),
    "reports.status": ("Kết quả", "Result"),
    "reports.morning": ("Phút sáng", "Morning min"),
    "reports.afternoon": ("Phút chiều", "Afternoon min"),
    "reports.unknown": ("Phút không rõ", "Unknown min"),
    "reports.annual": ("Báo cáo năm (Điều 14)", "Annual report (Article 14)"),
    "reports.annual_intro": (
        "Kỳ báo cáo từ 15/12 năm trước đến 14/12 năm báo cáo, theo đề cương ban hành kèm"
        " quy chế; số liệu được điền sẵn, phần nhận định để đơn vị viết.",
        "Period 15 Dec of the previous year to 14 Dec, in the regulation's outline; the"
        " figures are filled in, the assessment is left for the unit to write.",
    ),
    "reports.year": ("Năm", "Year"),
    "reports.organisation": ("Đơn vị", "Organisation"),
    "reports.province": ("Toàn tỉnh (tổng hợp)", "Whole province (consolidated)"),
    "reports.download_docx": ("Tải báo cáo (DOCX)", "Download report (DOCX)"),
    "reports.archive": ("Lưu trữ phục vụ kiểm tra (Điều 9.1)", "Inspection archive (Article 9.1)"),
    "reports.archive_intro": (
        "Nội dung đã phát, quảng cáo và thời lượng phát theo ngày, dạng CSV và XLSX kèm"
        " bản kê mã SHA-256 của từng tệp.",
        "What was broadcast, advertising and broadcast time per day, as CSV and XLSX with a"
        " manifest of each file's SHA-256.",
    ),
    "reports.all_sites": ("Tất cả điểm được xem", "Every site you see"),
    "reports.download_zip": ("Tải lưu trữ (ZIP)", "Download archive (ZIP)"),
    "compliance_status.compliant": ("Đạt", "Met"),
    "compliance_status.non_compliant": ("Không đạt", "Not met"),
    "compliance_status.unknown": ("Không đủ dữ liệu", "Not enough data"),
    "compliance_status.exempt": ("Phát khẩn cấp", "Emergency broadcast"),
    "compliance_status.pending": ("Chưa hết ngày", "Day not over"),
    "compliance_status.no_windows": ("Chưa đặt khung giờ", "No windows set"),
    # audit
    "audit.title": ("Nhật ký thao tác", "Audit log"),
    "audit.intro": (
        "Mọi đăng nhập và thay đổi, ai làm, lúc nào, từ đâu (Điều 9.2). Không thể sửa hay xóa.",
        "Every login and change: who, when, from where (Article 9.2). It cannot be"
        " edited or deleted.",
    ),
    "audit.at": ("Thời điểm", "At"),
    "audit.actor": ("Người thực hiện", "Who"),
    "audit.action": ("Thao tác", "Action"),
    "audit.target": ("Đối tượng", "Object"),
    "audit.address": ("Địa chỉ", "Address"),
    "audit.detail": ("Chi tiết", "Details"),
    "audit.since": ("Từ ngày", "From"),
    "audit.until": ("Đến ngày", "To"),
    "audit.export": ("Tải CSV", "Download CSV"),
    "audit.none": ("Không có dòng nào.", "No entries."),
    "audit.changes": ("Trước / sau", "Before / after"),
    "audit_action.login": ("Đăng nhập", "Logins"),
    "audit_action.login_failed": ("Đăng nhập sai", "Failed logins"),
    "audit_action.logout": ("Đăng xuất", "Logouts"),
    "audit_action.incident.": ("Sự cố", "Incidents"),
    "audit_action.ticket.": ("Phiếu bảo trì", "Tickets"),
    "audit_action.user.": ("Tài khoản", "Accounts"),
    "audit_action.content.": ("Nội dung đã duyệt", "Approved content"),
    "audit_action.broadcast_windows.": ("Khung giờ phát", "Broadcast windows"),
    "audit_action.audit.": ("Xuất nhật ký", "Audit exports"),
    # forms and lists
    "form.apply": ("Áp dụng", "Apply"),
    "form.clear": ("Bỏ lọc", "Clear"),
    "form.any": ("Tất cả", "Any"),
    "list.previous": ("Trang trước", "Previous"),
    "list.next": ("Trang sau", "Next"),
    "list.range": ("{first}–{last} trong {total}", "{first}–{last} of {total}"),
    "time.ago_s": ("vừa xong", "just now"),
    "time.ago_m": ("{n} phút trước", "{n} min ago"),
    "time.ago_h": ("{n} giờ trước", "{n} h ago"),
    "time.ago_d": ("{n} ngày trước", "{n} days ago"),
    "time.never": ("chưa bao giờ", "never"),
    "common.none": ("—", "—"),
    "common.yes": ("Có", "Yes"),
    "common.no": ("Không", "No"),
}


def translator(language: str) -> Translate:
    """``t(key, **values)`` in ``language``; an unknown key raises KeyError."""
    index = LANGUAGES.index(language) if language in LANGUAGES else 0

    def t(key: str, **values: object) -> str:
        text = STRINGS[key][index]
        return text.format(**values) if values else text

    return t


def known(key: str) -> bool:
    return key in STRINGS


def format_time(value: datetime | None, language: str = DEFAULT, *, seconds: bool = False) -> str:
    """Vietnam time; day/month/year in Vietnamese, ISO order in English."""
    if value is None:
        return "—"
    local = value.astimezone(VIETNAM)
    clock = "%H:%M:%S" if seconds else "%H:%M"
    return local.strftime(f"{clock} %d/%m/%Y" if language == "vi" else f"%Y-%m-%d {clock}")


def format_number(value: float | int | None, language: str = DEFAULT, digits: int = 0) -> str:
    """1.234.567,5 in Vietnamese, 1,234,567.5 in English."""
    if value is None:
        return "—"
    text = f"{value:,.{digits}f}"
    if language == "vi":
        text = text.replace(",", " ").replace(".", ",").replace(" ", ".")
    return text


def format_duration(value: timedelta | None, language: str = DEFAULT) -> str:
    """How long ago, roughly (``value`` is now minus then)."""
    t = translator(language)
    if value is None:
        return t("time.never")
    seconds = value.total_seconds()
    if seconds < 60:
        return t("time.ago_s")
    if seconds < 3600:
        return t("time.ago_m", n=int(seconds // 60))
    if seconds < 86_400:
        return t("time.ago_h", n=int(seconds // 3600))
    return t("time.ago_d", n=int(seconds // 86_400))
