"""Stage: parser — back-end (a): the partial-input PEG engine over the IR (see ``engine``)."""

from pegtool.parser.engine import CaptureNode, Parser, ParseResult, Session, Status, parse

__all__ = ["CaptureNode", "ParseResult", "Parser", "Session", "Status", "parse"]
