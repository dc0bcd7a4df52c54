"""CIS Controls v8 categories: which of the 18 controls a check falls in.

Order of evidence (docs/policy-format.md §14): the check's `cis_csc_v8` safeguard, else a v7
safeguard (`cis_csc_v7`, or the older unversioned `cis_csc`) mapped to its v8 control, else an
explicit `category:`, else "Uncategorised".
"""

from __future__ import annotations

from workers.engine.definitions import CheckDefinition

UNCATEGORISED = "Uncategorised"

CIS_CONTROLS_V8: dict[int, str] = {
    1: "Inventory and Control of Enterprise Assets",
    2: "Inventory and Control of Software Assets",
    3: "Data Protection",
    4: "Secure Configuration of Enterprise Assets and Software",
    5: "Account Management",
    6: "Access Control Management",
    7: "Continuous Vulnerability Management",
    8: "Audit Log Management",
    9: "Email and Web Browser Protections",
    10: "Malware Defenses",
    11: "Data Recovery",
    12: "Network Infrastructure Management",
    13: "Network Monitoring and Defense",
    14: "Security Awareness and Skills Training",
    15: "Service Provider Management",
    16: "Application Software Security",
    17: "Incident Response Management",
    18: "Penetration Testing",
}

# v7 control -> the v8 control that took over most of its safeguards (CIS's v7-to-v8 mapping).
V7_TO_V8: dict[int, int] = {
    1: 1,  # Inventory of hardware assets
    2: 2,  # Inventory of software assets
    3: 7,  # Continuous vulnerability management
    4: 5,  # Controlled use of administrative privileges -> account management
    5: 4,  # Secure configuration of hardware and software
    6: 8,  # Maintenance, monitoring and analysis of audit logs
    7: 9,  # Email and web browser protections
    8: 10,  # Malware defenses
    9: 4,  # Limitation of network ports, protocols, services -> secure configuration
    10: 11,  # Data recovery
    11: 12,  # Secure configuration of network devices -> network infrastructure
    12: 13,  # Boundary defense -> network monitoring and defense
    13: 3,  # Data protection
    14: 6,  # Controlled access based on need to know -> access control
    15: 12,  # Wireless access control -> network infrastructure
    16: 5,  # Account monitoring and control -> account management
    17: 14,  # Security skills assessment and training
    18: 16,  # Application software security
    19: 17,  # Incident response and management
    20: 18,  # Penetration tests and red team exercises
}

_NAMES_LOWER = {name.lower(): name for name in CIS_CONTROLS_V8.values()}


def _control_number(safeguard: str) -> int | None:
    head = safeguard.strip().split(".", 1)[0]
    return int(head) if head.isdigit() else None


def category_of(check: CheckDefinition) -> str:
    """The CIS Controls v8 category name of a check."""
    for safeguard in check.compliance.get("cis_csc_v8", ()):
        number = _control_number(safeguard)
        if number in CIS_CONTROLS_V8:
            return CIS_CONTROLS_V8[number]
    for key in ("cis_csc_v7", "cis_csc"):
        for safeguard in check.compliance.get(key, ()):
            number = _control_number(safeguard)
            if number in V7_TO_V8:
                return CIS_CONTROLS_V8[V7_TO_V8[number]]
    if check.category:
        return _NAMES_LOWER.get(check.category.strip().lower(), check.category.strip())
    return UNCATEGORISED
