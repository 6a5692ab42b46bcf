"""The company's lines: list, filters, detail, edits, exports and bulk assignments."""
