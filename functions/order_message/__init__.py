"""The shop session: the cart and its transfer to the buyer as a PunchOutOrderMessage."""
