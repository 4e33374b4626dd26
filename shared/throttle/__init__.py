"""What services need to talk to the throttle service: its messages and a client."""
