"""The admin's own map: CQD's building data file and endpoint data file, read and checked
(:mod:`.files`), and where an end of a media line was (:mod:`.lookup`). Pure: no database;
:mod:`loader.store.places` writes the map and places what is loaded."""
