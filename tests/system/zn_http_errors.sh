#!/bin/sh
# tests/system/zn_dia_errors.sh over JSON Zn: the same refusals, the same
# Ua answers, whatever carries Zn.
ZN_TRANSPORT=http
. "${top_srcdir:-.}/tests/system/zn_dia_errors.sh"
