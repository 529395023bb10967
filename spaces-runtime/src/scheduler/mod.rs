//! Placement of Spaces on a fleet of hosts (issue 7).
