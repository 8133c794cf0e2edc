"""``meshgen advise``: which registered target fits an intent, with reasons a person can check.

:mod:`meshgen.advise.rules` reads the one rules file (``meshgen/data/advise-rules.yaml``, every
threshold with its source); :mod:`meshgen.advise.engine` scores every registered platform from
the intent's size, the capability findings of each platform's plan and the optional
``spec.context``; :mod:`meshgen.advise.output` prints the ranking as a table or JSON.
"""

from meshgen.advise.engine import Advice, Contribution, Ranked, advise

__all__ = ["Advice", "Contribution", "Ranked", "advise"]
