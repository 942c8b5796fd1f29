"""WhatsApp "Export chat" reader: header formats, splitter, archive safety, message rows."""
