"""How grave each source status is, written once (no Django: parsers use it too).

Imports and registry checks only ever raise a source's status along this order;
``retracted`` and ``withdrawn`` are equally grave.
"""

SEVERITY = {
    "active": 0,
    "corrected": 1,
    "superseded": 2,
    "expression_of_concern": 3,
    "withdrawn": 4,
    "retracted": 4,
}
