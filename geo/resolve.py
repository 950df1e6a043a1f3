"""Mentions -> places: choose the right gazetteer record for each toponym.

Each candidate gets a score from the evidence a careful reader uses:

* its prior: feature type and importance, population (:func:`geo.gazetteer.prior`);
* whether the mention is the record's own name rather than an alternate name;
* the countries the article is about (countries named in it, and the countries of the
  unambiguous places it names);
* a qualifier right after it ("Springfield, Illinois", "Vladivostok, Russia");
* closeness to the other places the article names.

Then the article's own geography: a first reading of every name gives the article's focus,
the first-level regions its places lie in and where they are; a second reading lets that
focus pull the ambiguous names ("Paris" in a story about towns in Texas, "Delft" beside
Khayelitsha), without outvoting a country named as such.  A river is placed on the stretch of
its line nearest the article's other places.

One sense per article: every mention of the same name in an article gets the same place.
The runner-up candidates are kept for the user interface.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import operator
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from geo.gazetteer import Gazetteer, normalize
from geo.model import Mention, Place, Resolution

#: Score weights (see module docstring).
W_EXACT = 0.15
W_COUNTRY = 0.35
W_QUALIFIER = 0.8
W_NEAR = 0.2
W_REGION = 0.1
W_NICKNAME = 0.3
W_ALTERNATE = 0.2
NEAR_KM = 250.0
NEAR_AREA_KM = 150.0
QUALIFIER_KM = 100.0
MAX_CANDIDATES = 40
CLEAR_MARGIN = 0.2
MAX_ALTERNATIVES = 3
#: The article's focus: a first-level region that at least FOCUS_MIN other names of the
#: article lie in pulls a candidate of it by up to W_FOCUS.
W_FOCUS = 0.3
FOCUS_MIN = 2
#: Closeness to the article's other places (first reading), graded to nothing at COHERE_KM.
W_COHERE = 0.25
COHERE_KM = 2000.0
#: A river is placed on its line where it comes nearest one of the article's other places,
#: if that is within this.
RIVER_REACH_KM = 1000.0
#: Kinds too large for their point to say where an article is.
_VAST = frozenset({"continent", "ocean"})
#: Share of an article's country votes that makes it that country's story.
FOREIGN_SHARE = 0.6
_SETTLEMENT_KINDS = frozenset({"city", "port", "facility"})
_AREA_KINDS = frozenset({"admin1", "region"})

#: Kinds whose coordinates are a real location (not a label point of a large area).
_POINT_KINDS = frozenset({"city", "port", "facility", "mountain", "island"})

Fallback = Callable[[str], Place | None]


@dataclass(frozen=True, slots=True)
class _Group:
    key: str
    mentions: tuple[Mention, ...]
    candidates: tuple[Place, ...]
    named: frozenset[str]  # ids of the candidates whose own (or curated) name this is
    nicknames: frozenset[str]  # ids of the candidates this name is only a nickname of
    votes: Counter[str]  # the country the name speaks for (see _vote)

    @property
    def plain(self) -> list[Place]:
        """The candidates the name stands for in plain words, nicknames left out."""
        return [p for p in self.candidates if p.id not in self.nicknames]


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two (lat, lon) points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


def _groups(mentions: Sequence[Mention], gaz: Gazetteer) -> list[_Group]:
    by_key: dict[str, list[Mention]] = {}
    for m in mentions:
        by_key.setdefault(normalize(m.text), []).append(m)
    groups = []
    for key, ms in by_key.items():
        cands, named, nicknames = gaz.senses(ms[0].text, MAX_CANDIDATES)
        plain = [p for p in cands if p.id not in nicknames]
        groups.append(_Group(key, tuple(ms), cands, named, nicknames, _vote(plain, len(ms))))
    return groups


#: Last words that make "the X River" a watercourse, whatever towns bear the name.
_WATER_WORDS = frozenset({"river", "creek"})


def _as_watercourse(group: _Group, text: str) -> _Group:
    """ "The Elk River" burst its banks: a river, not the town of Elk River, Minnesota.

    A name ending in "River" or "Creek" that the text always writes after "the" loses its
    settlement candidates (left unplaced if the gazetteer lacks the river); "in Fall River"
    keeps the town.
    """
    if group.key.rsplit(" ", 1)[-1] not in _WATER_WORDS:
        return group
    if not all(text[max(0, m.start - 4) : m.start].lower() == "the " for m in group.mentions):
        return group
    kept = tuple(p for p in group.candidates if p.kind not in _SETTLEMENT_KINDS)
    if len(kept) == len(group.candidates):
        return group
    plain = [p for p in kept if p.id not in group.nicknames]
    return dataclasses.replace(group, candidates=kept, votes=_vote(plain, len(group.mentions)))


def _clear(cands: Sequence[Place]) -> bool:
    """A place the name leaves little doubt about: the only candidate, or far ahead."""
    if not cands:
        return False
    runner = cands[1].score if len(cands) > 1 else 0.0
    return len(cands) == 1 or cands[0].score - runner > CLEAR_MARGIN


def _votes(group: _Group) -> Counter[str]:
    """The country a name speaks for (see :func:`_vote`), computed once per name."""
    return group.votes


def _vote(plain: Sequence[Place], mentions: int) -> Counter[str]:
    """The country a name speaks for: a named country, or a clear-cut place's country
    (``plain``: its candidates, nicknames left out)."""
    if not plain:
        return Counter()
    top = plain[0]
    if (top.kind == "country" or _clear(plain)) and top.country:
        return Counter({top.country: mentions})
    return Counter()


def _context_countries(groups: Sequence[_Group]) -> Counter[str]:
    """Countries the article is about: named countries and clear-cut places, by mentions."""
    counts: Counter[str] = Counter()
    for g in groups:
        counts.update(_votes(g))
    return counts


def _context_regions(groups: Sequence[_Group], countries: Counter[str]) -> set[str]:
    """Admin-1 codes of the regions the article names ("Illinois" anywhere in the text).

    Of equally likely regions ("SC": South Carolina or Santa Catarina) the one in the
    country the article is most about is taken.
    """
    out = set()
    for g in groups:
        cands = g.plain
        if not cands or cands[0].kind != "admin1":
            continue
        tied = [p for p in cands if p.kind == "admin1" and p.score == cands[0].score]
        best = max(tied, key=lambda p: countries.get(p.country, 0))
        if best.admin1:
            out.add(best.admin1)
    return out


def _qualifiers(text: str, mentions: Sequence[Mention], gaz: Gazetteer) -> dict[int, list[Place]]:
    """Places named right after a mention as ", Qualifier" (admin-1 regions and countries)."""
    out: dict[int, list[Place]] = {}
    for a, b in itertools.pairwise(mentions):
        if text[a.end : b.start] in (", ", ","):
            quals = [p for p in gaz.candidates(b.text, limit=8) if p.kind in ("admin1", "country")]
            if quals:
                out[a.start] = quals
    return out


def _qualifying(
    mentions: Sequence[Mention], quals: dict[int, list[Place]], gaz: Gazetteer
) -> dict[int, set[str]]:
    """For a mention in qualifier position ("Seattle, Washington"): the ids of its candidates
    that do qualify a candidate of the place before it (the state, not the capital)."""
    out: dict[int, set[str]] = {}
    for a, b in itertools.pairwise(mentions):
        options = quals.get(a.start)
        if options:
            before = gaz.candidates(a.text, limit=MAX_CANDIDATES)
            out[b.start] = {q.id for q in options if any(_qualified(p, [q]) for p in before)}
    return out


def _qualified(place: Place, quals: Sequence[Place]) -> bool:
    return any(_within(place, q) for q in quals)


def _within(place: Place, q: Place) -> bool:
    """Whether ``q`` (an admin-1 region or a country) can be the place's region or country.

    Admin-1 codes decide where the two records share a coding scheme.  Where they do not (a
    British county from Natural Earth is a GeoNames admin-2 unit, so "Snetterton, Norfolk"
    shares no admin-1 code), a place close to the region's point is taken to lie in it.
    """
    if q.kind == "country":
        return q.country == place.country and place.kind != "country"
    if q.kind != "admin1" or q.id == place.id:
        return False
    if q.admin1 and q.admin1 == place.admin1:
        return True
    return (
        q.country == place.country
        and haversine_km(place.lat, place.lon, q.lat, q.lon) < QUALIFIER_KM
    )


def _score(
    place: Place, group: _Group, countries: Counter[str], total: int, ccs: Sequence[str]
) -> float:
    score = place.score
    if place.id in group.named:
        score += W_EXACT
    elif place.id in group.nicknames:
        score -= W_NICKNAME
    elif place.kind in _AREA_KINDS and group.named:
        # A region called by a short or other form of its name ("Primorsk" for Primorsky
        # Krai) yields to a place that bears the name as its own (the port of Primorsk).
        score -= W_ALTERNATE
    if ccs and total:
        share = max(map(countries.get, ccs, itertools.repeat(0))) / total
        # Scaled by the prior: the article's country lifts its towns, but a hamlet that shares
        # a name with an ocean or a union ("Atlantic", Iowa; "Eu", France) stays below it.
        # A first-level region is no hamlet: it takes the whole lift ("Georgia" the state in
        # an American story).
        weight = 1.0 if place.kind == "admin1" else place.score
        score += W_COUNTRY * min(1.0, 3 * share) * weight if share else 0.0
    return score


def _foreign_name(group: _Group, countries: Counter[str], total: int) -> bool:
    """Whether the article is mostly about one country (``FOREIGN_SHARE`` of its votes) that
    none of the name's candidates lies in: then the few other countries it names say
    nothing about which namesake is meant ("Victoria" in a London story that also names
    New York is not pulled to Texas)."""
    top = countries.most_common(1)
    if not top or top[0][1] < FOREIGN_SHARE * total:
        return False
    # (Only among places that lie in one country: a river's countries are those it flows
    # through.)
    placed = [p.country for p in group.candidates if p.country]
    return bool(placed) and top[0][0] not in placed


def _near_bonus(place: Place, anchors: Sequence[Place]) -> float:
    if place.kind not in _POINT_KINDS:
        return 0.0
    for other in anchors:
        if abs(place.lat - other.lat) * 111.2 > NEAR_KM:  # quick reject, before haversine
            continue
        # An area's point says little about what lies 250 km from it: nearness to a region
        # counts only well inside a small one (a county), not across a large one (a state).
        reach = NEAR_KM if other.kind in _POINT_KINDS else NEAR_AREA_KM
        # Another place, not this one under another record ("Rajin Port" for Rajin the town).
        same = other.id == place.id or normalize(other.name) == normalize(place.name)
        if not same and haversine_km(place.lat, place.lon, other.lat, other.lon) < reach:
            return W_NEAR
    return 0.0


def _choose(group: _Group, scored: list[tuple[float, Place]]) -> Resolution | None:
    if not scored:
        return None
    scored.sort(key=operator.itemgetter(0), reverse=True)  # stable: ties keep their order
    best_score, best = scored[0]
    second = scored[1][0] if len(scored) > 1 else 0.0
    confidence = round(min(1.0, 0.5 + (best_score - second)), 3) if second else 1.0
    alternatives = tuple(p for _, p in scored[1 : 1 + MAX_ALTERNATIVES])
    return Resolution(group.mentions[0], best, confidence, alternatives)


@dataclass(frozen=True, slots=True)
class _Focus:
    """The article's own geography after a first reading: the place each name was given."""

    chosen: dict[str, Place]  # group key -> place
    regions: Counter[str]  # admin-1 code -> names placed in it
    country: str  # the country most names were placed in

    def region_votes(self, place: Place, key: str) -> tuple[int, int]:
        """Names other than ``key`` placed in the place's region, and all names placed."""
        own = self.chosen.get(key)
        mine = int(own is not None and own.admin1 == place.admin1)
        return self.regions.get(place.admin1, 0) - mine, len(self.chosen) - int(own is not None)


@dataclass(frozen=True, slots=True)
class _Evidence:
    """What the article says around its names, gathered once per article."""

    countries: Counter[str]
    total: int
    quals: dict[int, list[Place]]
    roles: dict[int, set[str]]
    regions: set[str]
    anchors: list[Place]
    gaz: Gazetteer


def _evidence(
    text: str, mentions: Sequence[Mention], groups: Sequence[_Group], gaz: Gazetteer
) -> _Evidence:
    countries = _context_countries(groups)
    quals = _qualifiers(text, mentions, gaz)
    return _Evidence(
        countries=countries,
        total=sum(countries.values()),
        quals=quals,
        roles=_qualifying(mentions, quals, gaz),
        regions=_context_regions(groups, countries),
        anchors=[g.candidates[0] for g in groups if len(g.candidates) == 1],
        gaz=gaz,
    )


@dataclass(frozen=True, slots=True)
class _Around:
    """What surrounds one name's mentions: the article's countries by the other names, the
    qualifiers after its mentions, and the records its mentions qualify."""

    others: Counter[str]
    total: int
    quals: tuple[Place, ...]
    roles: frozenset[str]


def _around(group: _Group, ev: _Evidence) -> _Around:
    others = _others(ev, group)
    starts = [m.start for m in group.mentions]
    quals = tuple(q for s in starts for q in ev.quals.get(s, ()))
    roles = frozenset(i for s in starts for i in ev.roles.get(s, ()))
    total = others.total()
    # No country lift at all for a name foreign to the article's one country (see there).
    return _Around(others, 0 if _foreign_name(group, others, total) else total, quals, roles)


def _candidate_score(place: Place, group: _Group, ev: _Evidence, near: _Around) -> float:
    score = _score(place, group, near.others, near.total, ev.gaz.countries_of(place))
    score += _near_bonus(place, ev.anchors)
    if near.quals and _qualified(place, near.quals):
        score += W_QUALIFIER
    if place.id in near.roles:
        score += W_QUALIFIER
    if place.kind != "admin1" and place.admin1 in ev.regions:
        score += W_REGION
    return score


def _rival_named(group: _Group, place: Place, countries: Counter[str]) -> bool:
    """Whether the name's best-known reading lies in another country the article names:
    then the article's main region does not pull ("Washington" in a London story that also
    names the United States stays the capital)."""
    top = group.candidates[0] if group.candidates else None
    return bool(top and top.country != place.country and countries.get(top.country, 0))


def _focus_bonus(place: Place, group: _Group, focus: _Focus, others: list[Place], *,
                 rival: bool = False) -> float:  # fmt: skip
    """The pull of the article's own geography: its main region (in the country most of its
    names were placed in), and nearness to ``others``, the places the article's other names
    were given."""
    bonus = 0.0
    main = place.country == focus.country and not rival
    if place.admin1 and place.kind != "admin1" and main:
        votes, total = focus.region_votes(place, group.key)
        if votes >= FOCUS_MIN and total:
            bonus += W_FOCUS * min(1.0, 2 * votes / total)
    if others and place.kind not in _VAST:
        km = _nearest_km(place, others)
        # Scaled by the prior, like the country's lift: a village near the story's places
        # does not outweigh a capital far from them ("Washington" in a story from London).
        bonus += W_COHERE * max(0.0, 1.0 - km / COHERE_KM) * place.score
    return bonus


def _nearest_km(place: Place, others: Sequence[Place]) -> float:
    """How far a candidate lies from the nearest of the article's other places: nothing
    when it lies in one's country or first-level region, else the least distance between
    their points (:func:`_quick_km`'s arithmetic, in one loop: it runs for every candidate
    that could still win)."""
    lat, lon, country, admin1 = place.lat, place.lon, place.country, place.admin1
    radians, cos, hypot, pi = math.radians, math.cos, math.hypot, math.pi
    best = math.inf
    for o in others:
        kind = o.kind
        if (kind == "country" and o.country == country) or (
            kind == "admin1" and o.admin1 and o.admin1 == admin1
        ):
            return 0.0  # no distance is less
        x = radians(o.lon - lon) * cos(radians((lat + o.lat) / 2))
        x = (x + pi) % (2 * pi) - pi
        km = 6371.0 * hypot(x, radians(o.lat - lat))
        best = min(best, km)
    return best


def _quick_km(a: Place, b: Place) -> float:
    """Distance in km, equirectangular: exact enough below a few thousand km, and cheap."""
    x = math.radians(b.lon - a.lon) * math.cos(math.radians((a.lat + b.lat) / 2))
    x = (x + math.pi) % (2 * math.pi) - math.pi  # across the antimeridian
    return 6371.0 * math.hypot(x, math.radians(b.lat - a.lat))


_Scored = dict[str, tuple[_Group, list[tuple[float, Place]]]]
#: The most the article's focus can add: a candidate further behind cannot catch up.
_MAX_FOCUS = W_FOCUS + W_COHERE


def _score_groups(groups: Sequence[_Group], ev: _Evidence, fallback: Fallback | None) -> _Scored:
    """Every candidate of every name with its score from the evidence around it."""
    out: _Scored = {}
    for group in groups:
        cands = list(group.candidates)
        if not cands and fallback is not None:
            found = fallback(group.mentions[0].text)
            cands = [found] if found else []
        near = _around(group, ev)
        out[group.key] = (group, [(_candidate_score(p, group, ev, near), p) for p in cands])
    return out


def _others(ev: _Evidence, group: _Group) -> Counter[str]:
    """The article's countries by the other names: a name does not vote for its own reading."""
    return ev.countries - group.votes if group.votes else ev.countries


def _refocus(scored: _Scored, focus: _Focus, ev: _Evidence) -> _Scored:
    """The scores again, with the pull of the article's own geography added: only for the
    candidates that could still win with it."""
    out: _Scored = {}
    for key, (group, cands) in scored.items():
        if len(cands) < 2:
            out[key] = (group, cands)
            continue
        best = max(map(operator.itemgetter(0), cands))
        places = [p for k, p in focus.chosen.items() if k != key and p.kind not in _VAST]
        others = _others(ev, group)
        out[key] = (group, [
            (sc + _focus_bonus(p, group, focus, places, rival=_rival_named(group, p, others)), p)
            if sc + _MAX_FOCUS >= best else (sc, p)
            for sc, p in cands
        ])  # fmt: skip
    return out


_COMPASS = frozenset({"north", "south", "east", "west", "northern", "southern", "eastern",
                      "western", "central", "upper", "lower"})  # fmt: skip


def _stray_region(place: Place, group: _Group, ev: _Evidence) -> bool:
    """A first-level region with a descriptive name ("West Coast", "Northern") of a country
    the article's other names never name, while they name others: the words describe some
    part of the article's own countries, not that far-off region, so the name is left
    unplaced rather than guessed."""
    if place.kind != "admin1" or place.name.split(" ", 1)[0].lower() not in _COMPASS:
        return False
    countries = _others(ev, group)
    return bool(countries) and countries.get(place.country, 0) == 0


def _choose_all(scored: _Scored, ev: _Evidence) -> dict[str, Resolution]:
    chosen = {}
    for key, (group, cands) in scored.items():
        quals = [q for m in group.mentions for q in ev.quals.get(m.start, ())]
        qualified = frozenset(p.id for _, p in cands if quals and _qualified(p, quals))
        res = _choose(group, _keep_named_country(group, list(cands), qualified))
        if res:
            chosen[key] = res
    return chosen


def _keep_named_country(
    group: _Group, scored: list[tuple[float, Place]], qualified: frozenset[str] = frozenset()
) -> list[tuple[float, Place]]:
    """A country called by its own name is not outvoted by a settlement of that name
    ("Russia" in a story about Ohio stays the country), unless the text qualifies the
    settlement ("Lebanon, Tennessee")."""
    country = [sp for sp in scored if sp[1].kind == "country" and sp[1].id in group.named]
    if not country:
        return scored
    floor = country[0][0]
    return [
        (min(sc, floor - 1e-6) if p.kind in _SETTLEMENT_KINDS and p.id not in qualified else sc, p)
        for sc, p in scored
    ]


def _first_reading(chosen: dict[str, Resolution]) -> _Focus:
    places = {k: r.place for k, r in chosen.items()}
    regions = Counter(p.admin1 for p in places.values() if p.admin1)
    countries = Counter(p.country for p in places.values() if p.country)
    return _Focus(places, regions, countries.most_common(1)[0][0] if countries else "")


def _place_river(res: Resolution, chosen: dict[str, Resolution], gaz: Gazetteer) -> Resolution:
    """Put a river's mention on the vertex of its line nearest the article's other places."""
    line = gaz.line(res.place.id)
    others = [r.place for r in chosen.values() if r.place.kind in _POINT_KINDS | {"admin1"}]
    if not line or not others:
        return res

    def cost(pt: tuple[float, float]) -> float:
        probe = dataclasses.replace(res.place, lat=pt[0], lon=pt[1])
        return min(_quick_km(probe, o) for o in others)

    lat, lon = min(line, key=cost)
    if cost((lat, lon)) > RIVER_REACH_KM:  # the article's places are nowhere near it
        return res
    return dataclasses.replace(res, place=dataclasses.replace(res.place, lat=lat, lon=lon))


def resolve(
    text: str,
    mentions: Sequence[Mention],
    gaz: Gazetteer,
    *,
    fallback: Fallback | None = None,
) -> list[Resolution]:
    """Resolve the mentions of one article.

    Parameters
    ----------
    text
        The article text the mentions point into.
    mentions
        The recognizer's output for that text.
    gaz
        The gazetteer supplying candidates.
    fallback
        Called with a name that has no gazetteer candidate (e.g. an online geocoder);
        ``None`` leaves such mentions unresolved.

    Returns
    -------
    list of Resolution
        One per resolved mention, in text order.
    """
    groups = [_as_watercourse(g, text) for g in _groups(mentions, gaz)]
    ev = _evidence(text, mentions, groups, gaz)
    scored = _score_groups(groups, ev, fallback)
    first = _choose_all(scored, ev)
    chosen = _choose_all(_refocus(scored, _first_reading(first), ev), ev)
    chosen = {k: r for k, r in chosen.items() if not _stray_region(r.place, scored[k][0], ev)}
    chosen = {k: _place_river(r, chosen, gaz) if r.place.kind == "river" else r
              for k, r in chosen.items()}  # fmt: skip
    out = []
    for m in mentions:
        res = chosen.get(normalize(m.text))
        if res:
            out.append(Resolution(m, res.place, res.confidence, res.alternatives))
    return out
