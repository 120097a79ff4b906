"""The checkpoint engine: from the reads of one unit to a pass/hold the PLC acts on."""
