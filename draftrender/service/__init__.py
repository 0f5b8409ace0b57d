"""The service core, without HTTP: the task store and its schema, accounts, webhooks (later: queue, storage)."""
