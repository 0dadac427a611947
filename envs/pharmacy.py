"""Pharmacy: a dispensing counter with a medicine formulary, patient records, prescriptions
and a table of known drug interactions.

The world is a seeded shelf (stock in packs per product), a handful of patients with
recorded allergies and prescriptions (refills left), and a log of fills; refilling a
prescription and recording an allergy change it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from tool_gym import (
    Domain,
    Ref,
    Step,
    Task,
    ToolError,
    World,
    all_of,
    answer_in_all,
    answer_is,
    answer_mentions,
    lookup_id,
    tool,
    world_has,
)

# generic name -> (drug class, [(form, strength), ...])
FORMULARY: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "amoxicillin": ("penicillin", [("capsule", "250 mg"), ("capsule", "500 mg"),
                                   ("syrup", "125 mg/5 ml"), ("syrup", "250 mg/5 ml")]),
    "flucloxacillin": ("penicillin", [("capsule", "250 mg"), ("capsule", "500 mg")]),
    "cefalexin": ("cephalosporin", [("capsule", "250 mg"), ("capsule", "500 mg"),
                                    ("syrup", "125 mg/5 ml")]),
    "azithromycin": ("macrolide", [("tablet", "250 mg"), ("tablet", "500 mg"),
                                   ("syrup", "200 mg/5 ml")]),
    "clarithromycin": ("macrolide", [("tablet", "250 mg"), ("tablet", "500 mg")]),
    "co-trimoxazole": ("sulfonamide", [("tablet", "480 mg"), ("tablet", "960 mg")]),
    "ibuprofen": ("nsaid", [("tablet", "200 mg"), ("tablet", "400 mg"),
                            ("syrup", "100 mg/5 ml"), ("cream", "5%")]),
    "naproxen": ("nsaid", [("tablet", "250 mg"), ("tablet", "500 mg")]),
    "aspirin": ("nsaid", [("tablet", "75 mg"), ("tablet", "300 mg")]),
    "codeine": ("opioid", [("tablet", "15 mg"), ("tablet", "30 mg")]),
    "tramadol": ("opioid", [("capsule", "50 mg")]),
    "paracetamol": ("analgesic", [("tablet", "500 mg"), ("syrup", "120 mg/5 ml")]),
    "warfarin": ("anticoagulant", [("tablet", "1 mg"), ("tablet", "3 mg"), ("tablet", "5 mg")]),
    "simvastatin": ("statin", [("tablet", "20 mg"), ("tablet", "40 mg")]),
    "atorvastatin": ("statin", [("tablet", "10 mg"), ("tablet", "20 mg"), ("tablet", "40 mg")]),
    "lisinopril": ("ace inhibitor", [("tablet", "5 mg"), ("tablet", "10 mg")]),
    "ramipril": ("ace inhibitor", [("capsule", "2.5 mg"), ("capsule", "5 mg")]),
    "spironolactone": ("diuretic", [("tablet", "25 mg")]),
    "metformin": ("biguanide", [("tablet", "500 mg"), ("tablet", "850 mg")]),
    "sertraline": ("ssri", [("tablet", "50 mg"), ("tablet", "100 mg")]),
    "fluoxetine": ("ssri", [("capsule", "20 mg"), ("syrup", "20 mg/5 ml")]),
    "omeprazole": ("proton pump inhibitor", [("capsule", "20 mg"), ("capsule", "40 mg")]),
    "salbutamol": ("bronchodilator", [("inhaler", "100 mcg")]),
    "beclometasone": ("corticosteroid", [("inhaler", "100 mcg"), ("inhaler", "200 mcg")]),
    "hydrocortisone": ("corticosteroid", [("cream", "1%")]),
    "clopidogrel": ("antiplatelet", [("tablet", "75 mg")]),
    "amlodipine": ("calcium channel blocker", [("tablet", "5 mg"), ("tablet", "10 mg")]),
    "levothyroxine": ("thyroid hormone", [("tablet", "25 mcg"), ("tablet", "50 mcg"),
                                          ("tablet", "100 mcg")]),
}
NAMES = sorted(FORMULARY)
# Known interactions between two generic names (alphabetical pair) -> (severity, effect).
INTERACTIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("aspirin", "warfarin"): ("major", "greatly raised bleeding risk"),
    ("ibuprofen", "warfarin"): ("major", "greatly raised bleeding risk"),
    ("naproxen", "warfarin"): ("major", "greatly raised bleeding risk"),
    ("clarithromycin", "warfarin"): ("major", "raised INR and bleeding risk"),
    ("co-trimoxazole", "warfarin"): ("major", "raised INR and bleeding risk"),
    ("azithromycin", "warfarin"): ("moderate", "INR may rise"),
    ("paracetamol", "warfarin"): ("minor", "INR may rise with regular high doses"),
    ("simvastatin", "warfarin"): ("moderate", "INR may rise"),
    ("clarithromycin", "simvastatin"): ("major", "risk of muscle damage (rhabdomyolysis)"),
    ("atorvastatin", "clarithromycin"): ("moderate", "higher statin levels, muscle pain"),
    ("sertraline", "tramadol"): ("major", "risk of serotonin syndrome and seizures"),
    ("fluoxetine", "tramadol"): ("major", "risk of serotonin syndrome and seizures"),
    ("aspirin", "sertraline"): ("moderate", "raised bleeding risk"),
    ("fluoxetine", "ibuprofen"): ("moderate", "raised bleeding risk"),
    ("lisinopril", "spironolactone"): ("major", "dangerously high potassium"),
    ("ramipril", "spironolactone"): ("major", "dangerously high potassium"),
    ("ibuprofen", "lisinopril"): ("moderate", "weaker blood pressure control, kidney strain"),
    ("naproxen", "ramipril"): ("moderate", "weaker blood pressure control, kidney strain"),
    ("clopidogrel", "omeprazole"): ("moderate", "clopidogrel works less well"),
    ("aspirin", "clopidogrel"): ("moderate", "raised bleeding risk"),
    ("amlodipine", "simvastatin"): ("minor", "higher simvastatin levels"),
    ("levothyroxine", "omeprazole"): ("minor", "less levothyroxine absorbed"),
    ("aspirin", "ibuprofen"): ("minor", "ibuprofen may blunt aspirin's heart protection"),
    ("codeine", "tramadol"): ("major", "additive breathing depression"),
    ("co-trimoxazole", "spironolactone"): ("moderate", "raised potassium"),
}
SEVERITIES = ["none", "minor", "moderate", "major"]
ADVICE = {"none": "no interaction on record; they can be dispensed together",
          "minor": "usually fine; mention it to the patient",
          "moderate": "dispense with counselling and monitoring",
          "major": "avoid the combination unless the prescriber confirms it"}
Form = Literal["any", "tablet", "capsule", "syrup", "inhaler", "cream"]
Allergen = Literal["penicillin", "cephalosporin", "macrolide", "sulfonamide", "nsaid", "opioid",
                   "statin", "ssri"]
ALLERGENS = ["penicillin", "cephalosporin", "macrolide", "sulfonamide", "nsaid", "opioid",
             "statin", "ssri"]
ALLERGEN_WORDS = {"penicillin": "penicillin", "cephalosporin": "cephalosporin antibiotics",
                  "macrolide": "macrolide antibiotics", "sulfonamide": "sulfa drugs",
                  "nsaid": "NSAIDs", "opioid": "opioid painkillers", "statin": "statins",
                  "ssri": "SSRI antidepressants"}
Reaction = Literal["mild", "moderate", "severe"]
REACTIONS = ["mild", "moderate", "severe"]
FIRST = ["Adaeze", "Bjorn", "Carmen", "Dev", "Elif", "Fergus", "Ginny", "Hamid", "Ines", "Jonas",
         "Kalani", "Luca", "Mireille", "Nikhil", "Olga", "Pablo", "Rhea", "Stellan"]
LAST = ["Achebe", "Bergstrom", "Cardoso", "Dunleavy", "Esposito", "Fontaine", "Gallagher",
        "Halvorsen", "Ibrahim", "Jovanovic", "Kobayashi", "Lachance", "Mwangi", "Nakamura"]
DOCTORS = ["Dr Okonjo", "Dr Reyes", "Dr Whitfield", "Dr Szabo", "Dr Anand"]
FREQ = ["once daily", "twice daily", "three times daily", "at night"]
N_PATIENTS = 8
ORDINAL = ["first", "second", "third", "fourth"]


@dataclass
class PharmacyWorld(World):
    medicines: dict[str, dict] = field(default_factory=dict)  # D-number -> product with stock
    patients: dict[str, dict] = field(default_factory=dict)  # PT-number -> patient record
    prescriptions: dict[str, dict] = field(default_factory=dict)  # RX-number -> prescription
    fills: list[dict] = field(default_factory=list)  # refills dispensed through the tool


def _strength_value(strength: str) -> float:
    m = re.match(r"[\d.]+", strength)
    return float(m.group()) if m else 0.0


def _dose(form: str, rng: np.random.Generator) -> str:
    freq = FREQ[int(rng.integers(len(FREQ)))]
    if form in ("tablet", "capsule"):
        n = 1 + int(rng.integers(2))
        return f"{n} {form}{'s' if n > 1 else ''} {freq}"
    if form == "syrup":
        return f"{5 * (1 + int(rng.integers(2)))} ml {freq}"
    if form == "inhaler":
        return "2 puffs when needed" if rng.random() < 0.5 else "1 puff twice daily"
    return "apply thinly twice daily"


def make_world(rng: np.random.Generator) -> PharmacyWorld:
    w = PharmacyWorld()
    products = [(n, cls, form, s) for n in NAMES for cls, forms in [FORMULARY[n]]
                for form, s in forms]
    ids = (rng.permutation(9000)[: len(products)] + 1000).tolist()
    stock = rng.integers(0, 40, len(products)).tolist()
    empty = rng.random(len(products)) < 0.1
    for k, (name, cls, form, strength) in enumerate(products):
        mid = f"D{ids[k]}"
        w.medicines[mid] = {"medicine_id": mid, "name": name, "strength": strength, "form": form,
                            "drug_class": cls, "stock": 0 if empty[k] else int(stock[k]) + 1}
    by_name: dict[str, list[str]] = {}
    for mid, med in w.medicines.items():
        by_name.setdefault(med["name"], []).append(mid)
    pids = (rng.permutation(900)[:N_PATIENTS] + 100).tolist()
    rx_ids = (rng.permutation(9000)[: N_PATIENTS * 4] + 1000).tolist()
    names = rng.permutation(len(FIRST) * len(LAST))[:N_PATIENTS].tolist()
    r = 0
    for k in range(N_PATIENTS):
        pid = f"PT{pids[k]}"
        n_rx = 2 + int(rng.integers(3))
        meds = rng.permutation(len(NAMES))[:n_rx].tolist()
        classes = {FORMULARY[NAMES[m]][0] for m in meds}
        free = [a for a in ALLERGENS if a not in classes]
        n_all = int(rng.integers(3)) if k else 1 + int(rng.integers(2))  # someone has one
        allergies = [{"substance": free[int(i)], "reaction": REACTIONS[int(rng.integers(3))]}
                     for i in sorted(rng.permutation(len(free))[:n_all].tolist())]
        rxs = []
        for m in meds:
            options = by_name[NAMES[m]]
            mid = options[int(rng.integers(len(options)))]
            med = w.medicines[mid]
            rid = f"RX{rx_ids[r]}"
            r += 1
            refills = int(rng.integers(0, 6)) if rng.random() < 0.8 else 0
            w.prescriptions[rid] = {"rx_id": rid, "patient_id": pid, "medicine_id": mid,
                                    "medicine": med["name"], "strength": med["strength"],
                                    "form": med["form"], "dose": _dose(med["form"], rng),
                                    "quantity": 1 + int(rng.integers(3)),
                                    "refills_left": refills,
                                    "prescriber": DOCTORS[int(rng.integers(len(DOCTORS)))]}
            rxs.append(rid)
        w.patients[pid] = {"patient_id": pid,
                           "name": f"{FIRST[names[k] // len(LAST)]} {LAST[names[k] % len(LAST)]}",
                           "birth_year": 1940 + int(rng.integers(65)), "allergies": allergies,
                           "prescriptions": rxs}
    first = w.prescriptions[w.patients[f"PT{pids[0]}"]["prescriptions"][0]]
    first["refills_left"] = max(first["refills_left"], 2)  # at least one refill can go through
    med = w.medicines[first["medicine_id"]]
    med["stock"] = max(med["stock"], first["quantity"] + 3)
    return w


def _patient(world: PharmacyWorld, patient_id: str) -> dict:
    return lookup_id(world.patients, patient_id,
                     "there is no patient record '{id}'; patient numbers are PT "
                     "plus three digits (e.g. PT311), and a prescription's record shows whose "
                     "it is")


def _rx(world: PharmacyWorld, rx_id: str) -> dict:
    return lookup_id(world.prescriptions, rx_id,
                     "prescription '{id}' is not on file; prescription numbers look "
                     "like RX5521 and are listed on the patient's record (get_patient)")


def _medicine_name(world: PharmacyWorld, medicine: str, which: str) -> str:
    key = " ".join(medicine.strip().lower().split())
    if key.upper() in world.medicines:
        return world.medicines[key.upper()]["name"]
    if key in FORMULARY:
        return key
    raise ToolError(f"{which} '{medicine[:40]}' is not in the formulary; pass a generic name "
                    "such as warfarin, or a D-number (e.g. D2045) found with search_medicines")


def _search(world: PharmacyWorld, name: str, form: str) -> list[dict]:
    q = " ".join(name.lower().split())
    hits = [m for m in world.medicines.values()
            if (form == "any" or m["form"] == form)
            and (q in m["name"] or q in m["drug_class"])]
    hits.sort(key=lambda m: (m["name"] != q, m["name"], m["form"], _strength_value(m["strength"])))
    return [dict(m) for m in hits]


def _allergies(world: PharmacyWorld, pid: str) -> set[str]:
    return {a["substance"] for a in world.patients[pid]["allergies"]}


@tool
def search_medicines(world: PharmacyWorld, name: str, form: Form = "any") -> dict:
    """Find products in the formulary by generic name or drug class, with each product's
    strength, dosage form and packs in stock.

    Args:
        name: Part of a generic medicine name or drug class, e.g. amoxicillin or statin.
        form: Dosage form to keep: tablet, capsule, syrup, inhaler, cream, or any.
    """
    if not name.strip():
        raise ToolError("name is blank; type at least part of a generic medicine name "
                        "(e.g. 'amox') or a drug class (e.g. 'statin')")
    hits = _search(world, name, form)
    out: dict = {"count": len(hits), "results": hits}
    if not hits:
        out["note"] = ("nothing in the formulary matches; check the spelling of the generic "
                       "name (brand names are not stocked) or set form to any")
    return out


@tool
def get_patient(world: PharmacyWorld, patient_id: str) -> dict:
    """A patient's record: name, birth year, recorded drug allergies and their prescriptions
    (prescription number and medicine).

    Args:
        patient_id: Patient number, e.g. PT311.
    """
    pt = _patient(world, patient_id)
    rxs = [{k: world.prescriptions[r][k] for k in ("rx_id", "medicine", "strength", "form")}
           for r in pt["prescriptions"]]
    return {"patient_id": pt["patient_id"], "name": pt["name"], "birth_year": pt["birth_year"],
            "allergies": [dict(a) for a in pt["allergies"]], "prescriptions": rxs}


@tool
def get_prescription(world: PharmacyWorld, rx_id: str) -> dict:
    """One prescription: the patient it belongs to, the medicine product, dose, packs per fill,
    refills left and prescriber.

    Args:
        rx_id: Prescription number, e.g. RX5521.
    """
    rx = _rx(world, rx_id)
    cls = world.medicines[rx["medicine_id"]]["drug_class"]
    return {**rx, "drug_class": cls}


@tool
def check_interaction(world: PharmacyWorld, medicine_a: str, medicine_b: str) -> dict:
    """Look up the known interaction between two medicines: severity (none, minor, moderate or
    major), the effect, and dispensing advice.

    Args:
        medicine_a: Generic name (e.g. warfarin) or D-number of the first medicine.
        medicine_b: Generic name (e.g. ibuprofen) or D-number of the second medicine.
    """
    a = _medicine_name(world, medicine_a, "medicine_a")
    b = _medicine_name(world, medicine_b, "medicine_b")
    if a == b:
        raise ToolError(f"medicine_a and medicine_b are both {a}; compare two different "
                        "medicines")
    severity, effect = INTERACTIONS.get(tuple(sorted((a, b))), ("none", "none known"))
    return {"medicine_a": a, "medicine_b": b, "severity": severity, "effect": effect,
            "advice": ADVICE[severity]}


@tool(side_effects=True)
def refill_prescription(world: PharmacyWorld, rx_id: str,
                        method: Literal["pickup", "delivery"] = "pickup") -> dict:
    """Dispense one refill of a prescription: uses up one refill and takes the prescribed
    number of packs off the shelf. Refused when no refills are left, stock is short, or the
    patient has a recorded allergy to the medicine's drug class.

    Args:
        rx_id: Prescription number, e.g. RX5521.
        method: How the patient receives it: pickup at the counter or home delivery.
    """
    rx = _rx(world, rx_id)
    rid, med = rx["rx_id"], world.medicines[rx["medicine_id"]]
    product = f"{med['name']} {med['strength']} {med['form']}"
    if rx["refills_left"] <= 0:
        raise ToolError(f"{rid} has no refills remaining; the prescriber ({rx['prescriber']}) "
                        "has to issue a new prescription before it can be dispensed again")
    if med["drug_class"] in _allergies(world, rx["patient_id"]):
        raise ToolError(f"{rid} is on hold: patient {rx['patient_id']} has a recorded "
                        f"{med['drug_class']} allergy and {med['name']} belongs to that class; "
                        "the pharmacist must clear it with the prescriber first")
    if med["stock"] < rx["quantity"]:
        raise ToolError(f"not enough stock to fill {rid}: it needs {rx['quantity']} pack(s) of "
                        f"{product} ({med['medicine_id']}) and only {med['stock']} are on the "
                        "shelf; the fill can be done once the product is restocked")
    rx["refills_left"] -= 1
    med["stock"] -= rx["quantity"]
    world.fills.append({"rx_id": rid, "packs": rx["quantity"], "method": method})
    return {"status": "dispensed", "rx_id": rid, "patient_id": rx["patient_id"],
            "medicine_id": med["medicine_id"], "product": product,
            "packs_dispensed": rx["quantity"], "method": method,
            "refills_left": rx["refills_left"], "stock_left": med["stock"]}


@tool(side_effects=True)
def record_allergy(world: PharmacyWorld, patient_id: str, substance: Allergen,
                   reaction: Reaction = "moderate") -> dict:
    """Add a drug allergy to a patient's record; their prescriptions for medicines of that drug
    class are flagged and can no longer be refilled.

    Args:
        patient_id: Patient number, e.g. PT311.
        substance: Drug class the patient reacts to, e.g. penicillin, nsaid or sulfonamide.
        reaction: How bad the reaction is: mild, moderate or severe.
    """
    pt = _patient(world, patient_id)
    pid = pt["patient_id"]
    if substance not in ALLERGENS:
        raise ToolError(f"substance '{str(substance)[:40]}' is not a recordable allergen; "
                        f"choose one of {', '.join(ALLERGENS)}")
    known = next((a for a in pt["allergies"] if a["substance"] == substance), None)
    if known:
        raise ToolError(f"{pid} already has a {substance} allergy on file ({known['reaction']} "
                        "reaction); the record was left unchanged")
    pt["allergies"].append({"substance": substance, "reaction": reaction})
    flagged = [r for r in pt["prescriptions"]
               if world.medicines[world.prescriptions[r]["medicine_id"]]["drug_class"]
               == substance]
    return {"status": "recorded", "patient_id": pid, "substance": substance,
            "reaction": reaction, "allergies": [a["substance"] for a in pt["allergies"]],
            "flagged_prescriptions": flagged, "flagged_count": len(flagged)}


TOOLS = [search_medicines, get_patient, get_prescription, check_interaction, refill_prescription,
         record_allergy]


def _severity_check(severity: str):
    if severity == "none":
        return answer_mentions("none", "no interaction", "no known interaction")
    return answer_mentions(severity)


def _pick(rng: np.random.Generator, items: list):
    return items[int(rng.integers(len(items)))]


def _refillable(world: PharmacyWorld) -> list[str]:
    return sorted(r for r, rx in world.prescriptions.items()
                  if rx["refills_left"] > 0
                  and world.medicines[rx["medicine_id"]]["stock"] >= rx["quantity"]
                  and world.medicines[rx["medicine_id"]]["drug_class"]
                  not in _allergies(world, rx["patient_id"]))


def _new_allergy(rng: np.random.Generator, world: PharmacyWorld, pid: str,
                 prefer: str | None) -> str:
    free = [a for a in ALLERGENS if a not in _allergies(world, pid)]
    if prefer in free and rng.random() < 0.6:
        return prefer
    return _pick(rng, free)


def _other_medicine(rng: np.random.Generator, name: str) -> str:
    partners = [b if a == name else a for a, b in INTERACTIONS if name in (a, b)]
    if partners and rng.random() < 0.6:
        return _pick(rng, sorted(partners))
    return _pick(rng, [n for n in NAMES if n != name])


def _product(med: dict) -> str:
    form = med["form"] + ("s" if med["form"] in ("tablet", "capsule") else "")
    return f"{med['name']} {med['strength']} {form}"


def make_task(rng: np.random.Generator, world: PharmacyWorld, seed: int) -> Task:
    kind = int(rng.integers(12))
    rx_ids = sorted(world.prescriptions)
    pids = sorted(world.patients)
    if kind in (0, 11):  # stock of one product: by name (one call) or via a prescription
        if kind == 0:
            med = world.medicines[_pick(rng, sorted(world.medicines))]
        else:
            rx = world.prescriptions[_pick(rng, rx_ids)]
            med = world.medicines[rx["medicine_id"]]
        k = [m["medicine_id"] for m in _search(world, med["name"], "any")].index(
            med["medicine_id"])
        if kind == 11:
            return Task("", "pharmacy", f"How many packs of the exact product on prescription "
                        f"{rx['rx_id']} (same strength and form) are on the shelf right now?",
                        [Step("get_prescription", {"rx_id": rx["rx_id"]}),
                         Step("search_medicines", {"name": Ref(0, "medicine")})],
                        Ref(1, f"results.{k}.stock"), answer_is(med["stock"]))
        find = [Step("search_medicines", {"name": med["name"]})]
        if rng.random() < 0.7:
            return Task("", "pharmacy", f"How many packs of {_product(med)} do we have in stock?",
                        find, Ref(0, f"results.{k}.stock"), answer_is(med["stock"]))
        return Task("", "pharmacy", f"What is the formulary D-number of {_product(med)}?",
                    find, Ref(0, f"results.{k}.medicine_id"), answer_is(med["medicine_id"]))
    if kind == 1:  # facts of one prescription
        rx = world.prescriptions[_pick(rng, rx_ids)]
        plan = [Step("get_prescription", {"rx_id": rx["rx_id"]})]
        v = int(rng.integers(3))
        if v == 0:
            return Task("", "pharmacy", f"How many refills are left on prescription "
                        f"{rx['rx_id']}?", plan, Ref(0, "refills_left"),
                        answer_is(rx["refills_left"]))
        if v == 1:
            return Task("", "pharmacy", f"How many packs are handed out each time prescription "
                        f"{rx['rx_id']} is filled?", plan, Ref(0, "quantity"),
                        answer_is(rx["quantity"]))
        return Task("", "pharmacy", f"Which medicine (generic name) is prescription {rx['rx_id']} "
                    "for?", plan, Ref(0, "medicine"), answer_mentions(rx["medicine"]))
    if kind == 2:  # facts of one patient
        v = int(rng.integers(2))
        if v == 0:
            pid = _pick(rng, [p for p in pids if world.patients[p]["allergies"]])
            subs = [a["substance"] for a in world.patients[pid]["allergies"]]
            return Task("", "pharmacy", f"Which drug allergies are recorded for patient {pid}? "
                        "List every one.", [Step("get_patient", {"patient_id": pid})],
                        ", ".join(subs), answer_in_all(subs))
        pid = _pick(rng, pids)
        meds = [world.prescriptions[r]["medicine"] for r in world.patients[pid]["prescriptions"]]
        return Task("", "pharmacy", f"What medicines does patient {pid} have prescriptions for? "
                    "Give the generic names.", [Step("get_patient", {"patient_id": pid})],
                    ", ".join(meds), answer_in_all(meds))
    if kind == 3:  # interaction between two named medicines
        if rng.random() < 0.6:
            a, b = _pick(rng, sorted(INTERACTIONS))
            if rng.random() < 0.5:
                a, b = b, a
        else:
            a = _pick(rng, NAMES)
            b = _other_medicine(rng, a)
        severity = INTERACTIONS.get(tuple(sorted((a, b))), ("none", ""))[0]
        return Task("", "pharmacy", f"A customer asks whether {a} and {b} can be taken together. "
                    "What interaction severity is on record: none, minor, moderate or major?",
                    [Step("check_interaction", {"medicine_a": a, "medicine_b": b})],
                    Ref(0, "severity"), _severity_check(severity))
    if kind in (4, 9):  # record an allergy, for a patient or for the holder of a prescription
        if kind == 4:
            pid = _pick(rng, pids)
            rx = world.prescriptions[_pick(rng, world.patients[pid]["prescriptions"])]
        else:
            rx = world.prescriptions[_pick(rng, rx_ids)]
            pid = rx["patient_id"]
        cls = world.medicines[rx["medicine_id"]]["drug_class"]
        substance = _new_allergy(rng, world, pid, cls)
        reaction = _pick(rng, REACTIONS)
        flagged = sum(world.medicines[world.prescriptions[r]["medicine_id"]]["drug_class"]
                      == substance for r in world.patients[pid]["prescriptions"])

        def recorded(w: PharmacyWorld) -> bool:
            return any(a["substance"] == substance and a["reaction"] == reaction
                       for a in w.patients[pid]["allergies"])

        words = ALLERGEN_WORDS[substance]
        tail = ("Add it to their allergy record and tell me how many of their prescriptions it "
                "flags (0 if none).")
        args = {"substance": substance, "reaction": reaction}
        if kind == 4:
            return Task("", "pharmacy", f"Patient {pid} reports a {reaction} reaction to {words}. "
                        + tail, [Step("record_allergy", {"patient_id": pid, **args})],
                        Ref(0, "flagged_count"), all_of(world_has(recorded), answer_is(flagged)))
        return Task("", "pharmacy", f"The patient holding prescription {rx['rx_id']} reports a "
                    f"{reaction} reaction to {words}. " + tail,
                    [Step("get_prescription", {"rx_id": rx["rx_id"]}),
                     Step("record_allergy", {"patient_id": Ref(0, "patient_id"), **args})],
                    Ref(1, "flagged_count"), all_of(world_has(recorded), answer_is(flagged)))
    if kind in (5, 6):  # dispense a refill, by prescription number or by patient and medicine
        rid = _pick(rng, _refillable(world))
        rx = world.prescriptions[rid]
        med = world.medicines[rx["medicine_id"]]
        before = rx["refills_left"]
        method = "delivery" if rng.random() < 0.4 else "pickup"
        how = " for home delivery" if method == "delivery" else " for pickup at the counter"
        args = {"method": method} if method == "delivery" or rng.random() < 0.5 else {}

        def refilled(w: PharmacyWorld) -> bool:
            return (w.prescriptions[rid]["refills_left"] == before - 1
                    and any(f["rx_id"] == rid and f["method"] == method for f in w.fills))

        if kind == 5:
            plan = [Step("refill_prescription", {"rx_id": rid, **args})]
            if rng.random() < 0.5:
                return Task("", "pharmacy", f"Please fill prescription {rid}{how}. How many packs "
                            "of that product are left on the shelf afterwards?", plan,
                            Ref(0, "stock_left"),
                            all_of(world_has(refilled), answer_is(med["stock"] - rx["quantity"])))
            return Task("", "pharmacy", f"Dispense a refill of prescription {rid}{how} and tell "
                        "me how many refills it has left after this one.", plan,
                        Ref(0, "refills_left"), all_of(world_has(refilled), answer_is(before - 1)))
        pid = rx["patient_id"]
        k = world.patients[pid]["prescriptions"].index(rid)
        return Task("", "pharmacy", f"Patient {pid} is here for a refill of their {rx['medicine']} "
                    f"prescription{how}. Dispense it and tell me how many refills remain "
                    "afterwards.",
                    [Step("get_patient", {"patient_id": pid}),
                     Step("refill_prescription",
                          {"rx_id": Ref(0, f"prescriptions.{k}.rx_id"), **args})],
                    Ref(1, "refills_left"), all_of(world_has(refilled), answer_is(before - 1)))
    if kind == 7:  # a prescription's medicine against another medicine
        rx = world.prescriptions[_pick(rng, rx_ids)]
        other = _other_medicine(rng, rx["medicine"])
        severity = INTERACTIONS.get(tuple(sorted((rx["medicine"], other))), ("none", ""))[0]
        return Task("", "pharmacy", f"The patient on prescription {rx['rx_id']} also wants to "
                    f"take {other}. What interaction severity is on record between {other} and "
                    "their prescribed medicine: none, minor, moderate or major?",
                    [Step("get_prescription", {"rx_id": rx["rx_id"]}),
                     Step("check_interaction", {"medicine_a": Ref(0, "medicine"),
                                                "medicine_b": other})],
                    Ref(1, "severity"), _severity_check(severity))
    if kind == 8:  # whose prescription is it
        rx = world.prescriptions[_pick(rng, rx_ids)]
        pt = world.patients[rx["patient_id"]]
        return Task("", "pharmacy", f"Someone is collecting prescription {rx['rx_id']}. What is "
                    "the full name of the patient it was written for?",
                    [Step("get_prescription", {"rx_id": rx["rx_id"]}),
                     Step("get_patient", {"patient_id": Ref(0, "patient_id")})],
                    Ref(1, "name"), answer_is(pt["name"]))
    # kind 10: a patient's prescription for one medicine -> its refills or packs per fill
    pid = _pick(rng, pids)
    k = int(rng.integers(len(world.patients[pid]["prescriptions"])))
    rx = world.prescriptions[world.patients[pid]["prescriptions"][k]]
    plan = [Step("get_patient", {"patient_id": pid}),
            Step("get_prescription", {"rx_id": Ref(0, f"prescriptions.{k}.rx_id")})]
    if rng.random() < 0.6:
        return Task("", "pharmacy", f"How many refills does patient {pid} have left on their "
                    f"{rx['medicine']} prescription?", plan, Ref(1, "refills_left"),
                    answer_is(rx["refills_left"]))
    return Task("", "pharmacy", f"Which doctor prescribed patient {pid}'s {rx['medicine']}?",
                plan, Ref(1, "prescriber"), answer_is(rx["prescriber"]))


DOMAIN = Domain(
    name="pharmacy",
    title="Pharmacy",
    description="Pharmacy counter: formulary stock, patient records, prescriptions and refills, "
                "drug interactions and allergies.",
    tools=TOOLS,
    make_world=make_world,
    make_task=make_task,
    split="unseen",
    hints={"search_medicines.form": "enum", "get_patient.patient_id": "id",
           "get_prescription.rx_id": "id", "refill_prescription.rx_id": "id",
           "refill_prescription.method": "enum", "record_allergy.patient_id": "id",
           "record_allergy.substance": "enum", "record_allergy.reaction": "enum"},
    synonyms={"medicines": ["drugs", "medications"], "medicine": ["drug", "medication"],
              "patient": ["client"], "prescription": ["script"], "rx": ["script"],
              "interaction": ["conflict", "clash"], "refill": ["renew", "dispense"],
              "method": ["channel"], "allergy": ["intolerance", "sensitivity"],
              "substance": ["allergen"], "reaction": ["response"], "form": ["format", "variant"]},
)
