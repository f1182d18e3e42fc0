"""Fake patients, providers and payers for the demo inbox, seeded so runs repeat."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml
from faker import Faker
from stdnum import luhn

TEMPLATES_DIR = Path(__file__).resolve().with_name("templates")

# CMS computes the NPI check digit with Luhn over the card-issuer prefix 80840.
NPI_PREFIX = "80840"

# Patients are adults old enough for every demo kind, screening colonoscopy included.
PATIENT_AGE_YEARS = (45, 82)


@dataclass(frozen=True)
class Payer:
    """A health plan that claims are sent to."""

    payer_id: str
    name: str
    member_id_prefix: str


@dataclass(frozen=True)
class Patient:
    """A fake patient with the identifiers a note header and a manifest carry."""

    patient_id: str
    name: str
    birth_date: date
    sex: str
    member_id: str
    payer: Payer

    def age_on(self, day: date) -> int:
        """Returns the age in whole years on `day`."""
        had_birthday = (day.month, day.day) >= (
            self.birth_date.month,
            self.birth_date.day,
        )
        return day.year - self.birth_date.year - (0 if had_birthday else 1)


@dataclass(frozen=True)
class Provider:
    """A fake rendering physician."""

    key: str
    name: str
    npi: str
    specialty: str


@dataclass(frozen=True)
class Cast:
    """Everyone who appears in one demo inbox."""

    patients: dict[int, Patient]
    providers: dict[str, Provider]
    billing_npi: str
    facilities: dict[str, str]


def is_valid_npi(npi: str) -> bool:
    """Tells whether `npi` has ten digits and a correct Luhn check digit.

    Args:
        npi: the candidate National Provider Identifier.

    Returns:
        True when the NPI would pass the NPPES check-digit test.
    """
    if len(npi) != 10 or not npi.isdigit():
        return False
    return luhn.is_valid(NPI_PREFIX + npi)


def make_npi(rng: random.Random, *, is_organization: bool) -> str:
    """Makes a random NPI whose check digit is valid.

    Args:
        rng: the seeded random source.
        is_organization: True for a group (type 2, leading 2), else an individual.

    Returns:
        A ten-digit NPI string.
    """
    lead = "2" if is_organization else "1"
    body = lead + "".join(rng.choice("0123456789") for _ in range(8))
    return body + luhn.calc_check_digit(NPI_PREFIX + body)


def load_cast_config() -> dict[str, Any]:
    """Reads the payers, providers and facilities the demo uses."""
    text = (TEMPLATES_DIR / "cast.yaml").read_text(encoding="utf-8")
    config: dict[str, Any] = yaml.safe_load(text)
    return config


def make_cast(patient_count: int, *, seed: int, today: date) -> Cast:
    """Makes the fake people of one demo inbox.

    Args:
        patient_count: patients numbered 1..patient_count are made.
        seed: seeds Faker and the random source, so a seed gives the same cast.
        today: birth dates are drawn relative to this day, not the clock.

    Returns:
        The patients by number, the providers by specialty key, the billing NPI
        and the facility name for each place of service.
    """
    config = load_cast_config()
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)

    payers = [Payer(**entry) for entry in config["payers"]]
    providers = {
        entry["key"]: _make_provider(fake, rng, entry) for entry in config["providers"]
    }
    patients = {
        number: _make_patient(fake, rng, payers, today)
        for number in range(1, patient_count + 1)
    }
    billing_npi = make_npi(rng, is_organization=True)
    return Cast(patients, providers, billing_npi, dict(config["facilities"]))


def _make_provider(fake: Faker, rng: random.Random, entry: dict[str, str]) -> Provider:
    name = f"{fake.first_name()} {fake.last_name()}"
    npi = make_npi(rng, is_organization=False)
    return Provider(entry["key"], name, npi, entry["specialty"])


def _make_patient(
    fake: Faker, rng: random.Random, payers: list[Payer], today: date
) -> Patient:
    sex = rng.choice("FM")
    first = fake.first_name_female() if sex == "F" else fake.first_name_male()
    name = f"{first} {fake.last_name()}"

    youngest, oldest = PATIENT_AGE_YEARS
    earliest = today - timedelta(days=round(oldest * 365.25))
    latest = today - timedelta(days=round(youngest * 365.25) + 1)
    birth_date = fake.date_between(start_date=earliest, end_date=latest)

    payer = rng.choice(payers)
    patient_id = f"PT{fake.random_number(digits=7, fix_len=True)}"
    member_id = payer.member_id_prefix + str(fake.random_number(digits=9, fix_len=True))
    return Patient(patient_id, name, birth_date, sex, member_id, payer)
