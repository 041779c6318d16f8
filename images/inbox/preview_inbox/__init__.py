"""The preview inbox: one timeline of the webhooks, SMS and email a preview sent."""
