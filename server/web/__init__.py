"""The pages and JSON routes people and tools read: resources, explorer, graph API, exports, ops."""
