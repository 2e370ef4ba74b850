"""The device graph layer: schema, validation, traversal and file I/O of the networkx graphs that
connect training (which writes them) to spicegen (which compiles them). Imports only models."""
