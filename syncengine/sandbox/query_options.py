"""GET /api/Contact/QueryOptions: the parameters the contact query routes accept, each with
its type, operators and value options, in the shape of a recorded live response
(``{"options": [{parameter, type, operatorOptions: [{operator, multipleValuesAllowed,
valueRequired}], valueOptions}], "operatorOptions": [...]}``; see ``query_dates``).

It is built from the very tables the query parser reads, so what it lists and what the
routes accept cannot drift apart. The trailing ``operatorOptions`` lists every operator
the sandbox knows; the live list also names ``IsSet``, ``IsNotSet`` and ``Matches``,
which apply to no contact parameter here and are left out.
"""

from __future__ import annotations

from syncengine.domain.ports import Record
from syncengine.sandbox.query_operators import OPERATORS, Operator
from syncengine.sandbox.query_parameters import PARAMETERS, QueryContext


def query_options(ctx: QueryContext) -> Record:
    return {
        "options": [
            {
                "parameter": parameter.name,
                "type": parameter.type,
                "operatorOptions": [_operator_option(OPERATORS[n]) for n in parameter.operators],
                "valueOptions": list(parameter.value_options(ctx)),
            }
            for parameter in PARAMETERS.values()
        ],
        "operatorOptions": [_operator_option(operator) for operator in OPERATORS.values()],
    }


def _operator_option(operator: Operator) -> Record:
    return {
        "operator": operator.name,
        "multipleValuesAllowed": operator.multiple_values_allowed,
        "valueRequired": operator.value_required,
    }
