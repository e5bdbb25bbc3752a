# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Creating, for the desired-state engine (engine.py): the POST of a new object, and the look for one whose
answer was lost. Only a run that creates imports this.
"""

from __future__ import annotations

from ansible_collections.intune.autopilot.plugins.module_utils._graph.engine import EngineError
from ansible_collections.intune.autopilot.plugins.module_utils._graph.transport import WriteOutcomeUnknown
from ansible_collections.intune.autopilot.plugins.module_utils._graph.waiter import wait_for


def create(engine, body, replacing=None):
    """POST the object; when the answer is lost, find what Graph made instead of sending it twice."""
    try:
        return engine.write("POST", engine.collection, body)
    except WriteOutcomeUnknown as exc:
        found = confirm_created(engine, replacing)
        if found is not None:
            return found
        raise EngineError(
            "%s The %s '%s' did not appear within %.0f s, so the create was not sent again (that could make two). "
            "Run the task again: it finds the %s if Graph created it, or creates it."
            % (exc, engine.resource.noun, engine.params.get(engine.resource.key_option), engine.confirm_window(), engine.resource.noun),
            waits=engine.waits, **exc.details()
        ) from None


def confirm_created(engine, replacing=None):
    """The object a create whose answer was lost made, looked for over `confirm_window()` seconds, or None."""
    name = engine.params.get(engine.resource.key_option)

    def created():
        found = [obj for obj in engine.matches_by_key() if replacing is None or obj["id"] != replacing["id"]]
        if len(found) > 1:
            raise EngineError(
                "The answer to creating the %s '%s' was lost, and now %d of them exist (ids %s). Delete the extra one, "
                "then run the task again." % (engine.resource.noun, name, len(found), ", ".join(sorted(obj["id"] for obj in found)))
            )
        return found[0] if found else None

    wait = wait_for(created, engine.confirm_window(), "the %s '%s' created without an answer" % (engine.resource.noun, name))
    engine.waits.append(wait.report())
    if wait.done:
        wait.value.pop("assignments", None)
    return wait.value
