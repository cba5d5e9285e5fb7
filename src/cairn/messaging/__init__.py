"""WhatsApp artefacts (Android and iOS databases, chat exports) and the person–group–media
analysis built on them. Readers in their own modules, listed in `registry`."""
