"""Delivery channels behind one interface (``base.ChannelAdapter``): e-mail
and webhook (the transports wrapped), Telegram, brandname SMS and Zalo ZNS.
See docs/notifications.md, "Channels"."""
