"""Test helpers: the reference venue, request streams, local servers, gates and scenarios."""
