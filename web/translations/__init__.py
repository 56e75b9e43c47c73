"""The dashboard's catalogs: the English names of domain codes (`labels`) and the Japanese
text of every English message (`ja`). See `web.i18n`."""
