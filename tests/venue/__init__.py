"""Tests of bot4.venue: the matching engine, lists, stops, STP, the venue and its REST edge."""
