"""A fix's GPS accuracy in metres from what telemetry files write about it.

Receivers report accuracy two ways: directly, as one-sigma errors in metres (phone
loggers' ``accuracy``, u-blox ``hAcc``/``vAcc``), or as dilution of precision (GPX
``<hdop>``/``<vdop>``/``<pdop>``, NMEA), a pure number that multiplies the range error
of one satellite (:data:`UERE_M`). Both become :attr:`core.types.TelemetrySample.h_accuracy_m`
and ``v_accuracy_m``.
"""

from __future__ import annotations

import math

#: One-sigma user-equivalent range error (metres) that turns a dilution of precision into
#: a position error: horizontal error = HDOP x UERE. 3 m is the usual figure for a
#: single-frequency receiver with SBAS; HDOP 1 is then 3 m, HDOP 5 is 15 m.
UERE_M = 3.0


def _positive(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) and value > 0 else None


def gps_accuracy_m(*, h_acc_m: float | None = None, v_acc_m: float | None = None, hdop: float | None = None,
                   vdop: float | None = None, pdop: float | None = None) -> tuple[float | None, float | None]:
    """``(horizontal, vertical)`` one-sigma errors in metres, ``None`` where unknown.

    Metres written by the receiver win over dilution of precision. Without HDOP, PDOP
    (3-D, never smaller) stands in for it; without VDOP, ``sqrt(PDOP^2 - HDOP^2)`` when
    both are given. Zero, negative and non-finite values count as absent.
    """
    h_acc_m, v_acc_m = _positive(h_acc_m), _positive(v_acc_m)
    hdop, vdop, pdop = _positive(hdop), _positive(vdop), _positive(pdop)
    if vdop is None and hdop is not None and pdop is not None and pdop > hdop:
        vdop = math.sqrt(pdop * pdop - hdop * hdop)
    if hdop is None:
        hdop = pdop
    horizontal = h_acc_m if h_acc_m is not None else (None if hdop is None else hdop * UERE_M)
    vertical = v_acc_m if v_acc_m is not None else (None if vdop is None else vdop * UERE_M)
    return horizontal, vertical


__all__ = ["UERE_M", "gps_accuracy_m"]
