"""The service core, without HTTP: the task store and its schema (later: queue, storage)."""
