"""``meshgen import``: existing mesh manifests in, an intent with the same meaning out.

:mod:`reader` reads the manifests with their positions, each platform package's ``importer``
module turns them into intent data plus :class:`~meshgen.importing.findings.ImportFinding` s,
and :mod:`writer` lays the intent out for people. :func:`meshgen.platforms.registry.get_importer`
finds a platform's importer.
"""
