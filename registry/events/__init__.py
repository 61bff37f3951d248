"""Change events and their delivery to webhooks.

A write that concerns subscribers (a version published, a label moved, a translation
approved or gone stale, an experiment started, stopped or promoted, a prompt whose answer
changes through an include) writes its events to an outbox in its own transaction
(:mod:`registry.events.outbox`, called from the audit trail). A worker delivers them after
the commit, signed as the Standard Webhooks specification says, retrying with backoff
(:mod:`registry.events.delivery`). Events are never lost and may be repeated, always
with the same ``webhook-id``.
"""
