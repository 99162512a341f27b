"""District profiles shipped with CityOS; ``luohu`` is the default."""
