# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The options the desired-state engine gives every Graph resource module (as microsoft.ad's ad_object).
    # A module documents one of them itself only to say more (it then replaces the text below).
    DOCUMENTATION = r"""
options:
  display_name:
    description:
      - Name of the object, 1 to 200 characters. Required unless O(id) is given.
      - Matched case-insensitively, as Graph matches names in its filters; a name that differs only in case renames the object.
    type: str
  id:
    description:
      - Graph ID of the object, to manage one among several with the same name, or to rename it.
      - Give it as Graph shows it; some IDs are not bare GUIDs.
    type: str
  state:
    description:
      - V(present) creates or updates the object; V(absent) deletes it with its assignments.
    type: str
    default: present
    choices: [present, absent]
  recreate:
    description:
      - Allow a change that Graph cannot make in place, for the modules whose objects have such settings (their
        description names them), by replacing the object. The replacement is created first under the same name,
        the assignments move to it, and only then is the old object deleted; it gets a new ID.
      - A replacement stopped half-way loses nothing, and running the task again with O(recreate=true) finishes it.
      - Objects without such settings never need it.
    type: bool
    default: false
  create_settle_time:
    description:
      - Seconds to keep looking for the object by name before creating it, when the first look finds none. Graph lists a
        new object only after a delay, so a run soon after a failed create (whose answer was lost) could otherwise create
        a second one; the failure of such a create names the time to give here.
      - Every create is also followed by a look by name, once Graph lists the new object (for at most 60 s, or
        O(max_retry_wait) if smaller, or this time if longer). When another run created an object of the same name at the same
        time, the oldest one is kept. A run whose own object is the newer deletes it before giving it anything, and makes
        the older one as its options say. The result's RV(duplicates) reports it.
      - V(0) looks once. Applies when O(state=present).
    type: int
    default: 0
"""
