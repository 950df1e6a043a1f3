"""News Atlas: read geopolitical news on a map.

The package is a pipeline of small stages, each in its own module:

``corpus`` (articles, passages) -> ``recognize`` (text -> mentions) ->
``resolve`` (mentions -> places, using ``gazetteer``) -> ``layers`` (GeoDataFrames, GeoJSON)
-> ``mapview`` (folium).  ``routes`` turns the routes data file into line layers and
``geocode`` exposes the gazetteer (and an optional online fallback) through geopy.
Nothing here reads files or opens sockets at import time.
"""
