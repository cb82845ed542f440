"""The storefront's form rules: 0.4.0's ShippingAddress / checkout form validation and the delivery token rule.

Owns: which fields are required, their patterns, the US states list, and the messages a user sees. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["US_STATES", "AddressForm", "valid_delivery_token"]

# 0.4.0: email @Email; zip ^\d{5}$; state ^[A-Z]{2}$; firstName, lastName, address1, city @NotBlank.
_EMAIL = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]{2,}$")
_ZIP = re.compile(r"^\d{5}$")
_STATE = re.compile(r"^[A-Z]{2}$")
_TOKEN = re.compile(r"^[A-Za-z0-9\-]+$")
_REQUIRED = {
    "firstName": "Please enter your first name.",
    "lastName": "Please enter your last name.",
    "address1": "Please enter your address.",
    "city": "Please enter your city.",
}
FIELDS = ("firstName", "lastName", "email", "address1", "address2", "city", "state", "zip")

# The 50 states plus DC and PR, as 0.4.0's state select offered them.
_STATES = (
    "AL Alabama|AK Alaska|AZ Arizona|AR Arkansas|CA California|CO Colorado|CT Connecticut|DE Delaware|"
    "DC District Of Columbia|FL Florida|GA Georgia|HI Hawaii|ID Idaho|IL Illinois|IN Indiana|IA Iowa|"
    "KS Kansas|KY Kentucky|LA Louisiana|ME Maine|MD Maryland|MA Massachusetts|MI Michigan|MN Minnesota|"
    "MS Mississippi|MO Missouri|MT Montana|NE Nebraska|NV Nevada|NH New Hampshire|NJ New Jersey|"
    "NM New Mexico|NY New York|NC North Carolina|ND North Dakota|OH Ohio|OK Oklahoma|OR Oregon|"
    "PA Pennsylvania|PR Puerto Rico|RI Rhode Island|SC South Carolina|SD South Dakota|TN Tennessee|"
    "TX Texas|UT Utah|VT Vermont|VA Virginia|WA Washington|WV West Virginia|WI Wisconsin|WY Wyoming"
)
US_STATES: tuple[tuple[str, str], ...] = tuple((entry[:2], entry[3:]) for entry in _STATES.split("|"))


@dataclass(frozen=True, slots=True)
class AddressForm:
    values: Mapping[str, str]
    errors: Mapping[str, str]

    @classmethod
    def read(cls, form: Mapping[str, str]) -> AddressForm:
        values = {field: str(form.get(field, "")).strip() for field in FIELDS}
        return cls(values, _errors(values))

    @property
    def valid(self) -> bool:
        return not self.errors

    def address(self) -> dict[str, str]:
        """The checkout API's ShippingAddress fields."""
        return {field: self.values[field] for field in FIELDS if field != "email"}


def _errors(values: Mapping[str, str]) -> dict[str, str]:
    errors = {field: message for field, message in _REQUIRED.items() if not values[field]}
    if not _EMAIL.match(values["email"]):
        errors["email"] = "Please enter a valid email address."
    if not _STATE.match(values["state"]):
        errors["state"] = "Please choose a state."
    if not _ZIP.match(values["zip"]):
        errors["zip"] = "Zip code must be 5 digits."
    return errors


def valid_delivery_token(token: str) -> bool:
    return bool(_TOKEN.match(token))
