"""Mail: reading complaint messages, composing replies, drafts, mailto and SMTP."""
