"""Sans-IO codecs for the lab protocols, shared by probes, peers, references' tests.

Theory of operation (the model is h11): a codec never touches a socket.  An
encoder turns a message into bytes; a :class:`~grader.codecs.base.Decoder`
is fed bytes as they arrive (``feed``) and hands out whole messages
(``next_message``) once they are complete, however the bytes were split.
``end_of_stream`` tells it the peer closed: leftover bytes then raise
:class:`~grader.codecs.base.Truncated`.  Malformed input raises
:class:`~grader.codecs.base.ProtocolError`, the only exception a decoder may
raise (fuzzed in the tests).
"""
