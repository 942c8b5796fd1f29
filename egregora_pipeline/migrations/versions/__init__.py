"""The bundled revision files, one linear chain (``NNNN_slug.py``).

Never edit a file here once it has been released: warehouses record its
checksum. Add a new revision with ``egregora-pipeline db revision -m MSG``.
"""
