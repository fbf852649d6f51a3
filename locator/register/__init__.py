"""The electoral register (INSEE's REU extract): what ``locator reu import`` builds from it
(``importer``: bureaux placed by geocoding behind trust gates; ``areas``: bureau areas
estimated from the voters' addresses) and what the engine asks first (``index``: the
register's addresses and their bureaux). The files themselves are read and written by
``locator.data.reu`` (INSEE's tables) and ``locator.data.register`` (``register.parquet``)."""
