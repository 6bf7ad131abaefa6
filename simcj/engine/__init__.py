"""The engine: the stage contract, the world a replication runs in, case tables, named random
streams, capacity pools, alarms, the monitor and the victims' withdrawal clocks. It knows no stage
by name; the pathways' stages live in :mod:`simcj.vawg` and :mod:`simcj.women`."""
