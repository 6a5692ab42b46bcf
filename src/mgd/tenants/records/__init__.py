"""The operator records import: validate a JSON document (``validate``), then upsert it (``importer``)."""
