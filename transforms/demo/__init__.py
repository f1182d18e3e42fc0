"""Demo inbox: fake clinical documents in several formats with an answer key."""

from cptflow.transforms.demo.inbox import DemoInbox, write_demo_inbox

__all__ = ["DemoInbox", "write_demo_inbox"]
