"""CityOS: the open platform for Luohu District's digital government and smart city."""

__version__ = "0.1.0"
