"""Weather: forecasts, current conditions, air quality and alerts for a set of cities.

This module is the template for a domain: a world, its tools, a task generator and the
``DOMAIN`` object that registration discovers. Copy it to add a tool API.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated, Literal

import numpy as np

from tool_gym import Domain, Ref, Step, Task, ToolError, World, answer_is, tool, world_has

CITIES = {
    "France": ["Paris", "Lyon", "Marseille", "Toulouse"],
    "Germany": ["Berlin", "Munich", "Hamburg", "Cologne"],
    "Japan": ["Tokyo", "Osaka", "Kyoto", "Sapporo"],
    "Brazil": ["Brasilia", "Rio de Janeiro", "Sao Paulo", "Recife"],
    "Canada": ["Ottawa", "Toronto", "Montreal", "Vancouver"],
    "Kenya": ["Nairobi", "Mombasa", "Kisumu", "Nakuru"],
}
CONDITIONS = ["sunny", "cloudy", "rain", "storm", "snow", "fog", "windy"]
START = dt.date(2026, 6, 1)
DAYS = 7
DATE = Annotated[str, {"pattern": r"^\d{4}-\d{2}-\d{2}$", "description": "date as YYYY-MM-DD"}]


@dataclass
class WeatherWorld(World):
    forecasts: dict[str, list[dict]] = field(default_factory=dict)  # city -> one entry per day
    current: dict[str, dict] = field(default_factory=dict)
    aqi: dict[str, int] = field(default_factory=dict)
    alerts: list[dict] = field(default_factory=list)


def make_world(rng: np.random.Generator) -> WeatherWorld:
    w = WeatherWorld()
    for cities in CITIES.values():
        for city in cities:
            days = []
            for d in range(DAYS):
                low = int(rng.integers(-5, 22))
                days.append({
                    "date": (START + dt.timedelta(days=d)).isoformat(),
                    "condition": CONDITIONS[int(rng.integers(len(CONDITIONS)))],
                    "high_c": low + int(rng.integers(3, 12)),
                    "low_c": low,
                    "precipitation_mm": round(float(rng.uniform(0, 20)), 1),
                })
            w.forecasts[city] = days
            w.current[city] = {
                "temp_c": int(rng.integers(-5, 35)),
                "condition": CONDITIONS[int(rng.integers(len(CONDITIONS)))],
                "humidity": int(rng.integers(20, 100)),
            }
            w.aqi[city] = int(rng.integers(10, 200))
    return w


def _city(world: WeatherWorld, city: str) -> str:
    for name in world.forecasts:
        if name.lower() == city.strip().lower():
            return name
    raise ToolError(f"unknown city '{city}'; call list_cities to see the supported cities")


def _aqi_category(aqi: int) -> str:
    return "good" if aqi <= 50 else "moderate" if aqi <= 100 else "unhealthy"


@tool
def list_cities(world: WeatherWorld, country: str = "") -> list[dict]:
    """List the cities with weather data, optionally for one country.

    Args:
        country: Country name; empty for all countries.
    """
    out = []
    for c, cities in CITIES.items():
        if not country or c.lower() == country.strip().lower():
            out += [{"name": n, "country": c, "capital": i == 0} for i, n in enumerate(cities)]
    if not out:
        raise ToolError(f"no cities for country '{country}'; known: {', '.join(CITIES)}")
    return out


@tool
def get_forecast(world: WeatherWorld, city: str, date: DATE) -> dict:
    """Daily forecast for a city on one date within the next seven days.

    Args:
        city: City name, e.g. Paris.
        date: Day of the forecast as YYYY-MM-DD.
    """
    name = _city(world, city)
    for day in world.forecasts[name]:
        if day["date"] == date:
            return {"city": name, **day}
    first, last = world.forecasts[name][0]["date"], world.forecasts[name][-1]["date"]
    raise ToolError(f"no forecast for {date}; forecasts cover {first} to {last}")


@tool
def get_current_weather(
    world: WeatherWorld, city: str, units: Literal["metric", "imperial"] = "metric"
) -> dict:
    """Current temperature, condition and humidity in a city.

    Args:
        city: City name.
        units: metric (Celsius) or imperial (Fahrenheit).
    """
    now = dict(world.current[_city(world, city)])
    if units == "imperial":
        return {"temp_f": round(now.pop("temp_c") * 9 / 5 + 32, 1), **now}
    return now


@tool
def get_air_quality(world: WeatherWorld, city: str) -> dict:
    """Air quality index (AQI) and its category for a city.

    Args:
        city: City name.
    """
    aqi = world.aqi[_city(world, city)]
    return {"aqi": aqi, "category": _aqi_category(aqi)}


@tool(side_effects=True)
def set_weather_alert(
    world: WeatherWorld, city: str, condition: Literal["rain", "storm", "snow", "heat"], email: str
) -> dict:
    """Subscribe an email address to alerts for a condition in a city.

    Args:
        city: City name.
        condition: One of rain, storm, snow, heat.
        email: Address that receives the alert.
    """
    if "@" not in email:
        raise ToolError(f"'{email}' is not an email address")
    alert = {"id": len(world.alerts) + 1, "city": _city(world, city), "condition": condition,
             "email": email}
    world.alerts.append(alert)
    return {"status": "subscribed", **alert}


@tool
def list_alerts(world: WeatherWorld) -> list[dict]:
    """List the weather alerts that are set."""
    return list(world.alerts)


TOOLS = [list_cities, get_forecast, get_current_weather, get_air_quality, set_weather_alert,
         list_alerts]


def make_task(rng: np.random.Generator, world: WeatherWorld, seed: int) -> Task:
    kind = int(rng.integers(5))
    country = list(CITIES)[int(rng.integers(len(CITIES)))]
    city = CITIES[country][int(rng.integers(4))]
    day = world.forecasts[city][int(rng.integers(DAYS))]
    if kind == 0:
        field_, words = [("high_c", "high temperature in Celsius"),
                         ("low_c", "low temperature in Celsius"),
                         ("precipitation_mm", "precipitation in mm"),
                         ("condition", "sky condition")][int(rng.integers(4))]
        return Task("", "weather", f"What is the forecast {words} in {city} on {day['date']}?",
                    [Step("get_forecast", {"city": city, "date": day["date"]})],
                    Ref(0, field_), answer_is(day[field_]))
    if kind == 1:
        others = [c for cs in CITIES.values() for c in cs if c != city]
        other = others[int(rng.integers(len(others)))]
        a = world.forecasts[city]
        b = world.forecasts[other]
        i = [d["date"] for d in a].index(day["date"])
        warmer = city if a[i]["high_c"] >= b[i]["high_c"] else other
        if a[i]["high_c"] == b[i]["high_c"]:
            warmer = city
        return Task("", "weather", f"On {day['date']}, which will have the higher forecast high, "
                    f"{city} or {other}? If tied, say {city}. Answer with the city name.",
                    [Step("get_forecast", {"city": city, "date": day["date"]}),
                     Step("get_forecast", {"city": other, "date": day["date"]})],
                    warmer, answer_is(warmer))
    if kind == 2:
        capital = CITIES[country][0]
        aqi = world.aqi[capital]
        return Task("", "weather", f"What is the air quality category in the capital of "
                    f"{country}?", [Step("list_cities", {"country": country}),
                                    Step("get_air_quality", {"city": Ref(0, "0.name")})],
                    Ref(1, "category"), answer_is(_aqi_category(aqi)))
    if kind == 3:
        cond = ["rain", "storm", "snow", "heat"][int(rng.integers(4))]
        email = f"user{int(rng.integers(100, 999))}@example.com"

        def has_alert(w: WeatherWorld) -> bool:
            return any(a["city"] == city and a["condition"] == cond and a["email"] == email
                       for a in w.alerts)

        return Task("", "weather", f"Subscribe {email} to {cond} alerts for {city}, then say done.",
                    [Step("set_weather_alert", {"city": city, "condition": cond, "email": email})],
                    "done", world_has(has_alert))
    temp_f = round(world.current[city]["temp_c"] * 9 / 5 + 32, 1)
    return Task("", "weather", f"What is the current temperature in {city} in Fahrenheit?",
                [Step("get_current_weather", {"city": city, "units": "imperial"})],
                Ref(0, "temp_f"), answer_is(temp_f))


DOMAIN = Domain(
    name="weather",
    title="Weather",
    description="Forecasts, current conditions, air quality and weather alerts.",
    tools=TOOLS,
    make_world=make_world,
    make_task=make_task,
    split="seen",
    hints={"get_forecast.date": "date", "get_current_weather.units": "enum",
           "set_weather_alert.condition": "enum"},
    synonyms={"forecast": ["outlook", "prediction"], "weather": ["conditions", "meteo"],
              "country": ["nation", "region"], "alert": ["notification", "warning"],
              "alerts": ["notifications", "warnings"], "quality": ["index", "level"],
              "current": ["live", "now"], "email": ["mailbox", "address"],
              "condition": ["hazard", "phenomenon"], "air": ["atmosphere"]},
)
