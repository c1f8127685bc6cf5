"""Bug: any password logs in (the password is never compared).

Fails session/wrong-password.
"""
from _ftp import Session, run


class TrustingSession(Session):
    def password_ok(self, user, password):
        return user == "student"


run(TrustingSession)
