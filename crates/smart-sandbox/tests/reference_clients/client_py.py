"""Drives client-py (PyPI fhirclient) through a SMART launch against the sandbox.

Usage: client_py.py FHIR_BASE CLIENT_ID REDIRECT_URI [LAUNCH]
Prints one JSON line: the patient read, and whether the refresh worked.
"""
import json
import sys
import urllib.parse

import requests
from fhirclient import client
from fhirclient.models.patient import Patient

base, client_id, redirect_uri = sys.argv[1:4]
launch = sys.argv[4] if len(sys.argv) > 4 else None
settings = {
    "app_id": client_id,
    "api_base": base,
    "redirect_uri": redirect_uri,
    "scope": "openid fhirUser offline_access patient/*.rs",
}
if launch:
    settings["launch_token"] = launch
smart = client.FHIRClient(settings=settings)
authorize = smart.authorize_url
# The browser: the sandbox approves at once and redirects to the app.
answer = requests.get(authorize, allow_redirects=False, timeout=10)
callback = answer.headers["Location"]
assert callback.startswith(redirect_uri), callback
smart.handle_callback(callback)
patient = Patient.read(smart.patient_id, smart.server)
first = smart.server.auth.access_token
refreshed = smart.reauthorize()
second = smart.server.auth.access_token
again = Patient.read(smart.patient_id, smart.server)
print(json.dumps({
    "scope_asked": smart.desired_scope,
    "patient": patient.id,
    "refreshed": bool(refreshed) and first != second,
    "read_after_refresh": again.id,
}))
