"""The PostgreSQL backend: a warehouse is a database on a server, named by a libpq URL."""
