#!/bin/sh
# tests/system/kmsd_gba.sh over Zn on Diameter (TS 29.109 BIR/BIA between
# kmsd's and bsf-stubd's freeDiameter peers): the same calls, the same
# equal SRTP keys, the same refusals.  Exits 77 without freeDiameter.
ZN_TRANSPORT=diameter
. "${top_srcdir:-.}/tests/system/kmsd_gba.sh"
