"""PunchOutSetupRequest: start a punch-out session and answer with its StartPage."""
