// name: pstn-paths
// title: Multi-segment PSTN paths, hop by hop
// category: pstn
// description: Every session with at least minSegments segments that involves a phone party
//   or a gateway / mediation service, with its hops in time order: who talked to whom on each
//   segment (client, Teams media processor, SBC), when, and whether the hop failed.
// param: minSegments int = 2 | example: 3 | sessions with fewer segments are left out
// param: since datetime = null | example: 2026-11-01T00:00:00Z | calls starting at or after this
// param: until datetime = null | example: 2026-11-08T00:00:00Z | calls starting before this
// param: limit int = 100 | most rows to return
//
// In Neo4j Browser, run these first:
// :param minSegments => 2
// :param since => null
// :param until => null
// :param limit => 100
// No window: every call, read in store order. A window: the startDateTime index finds its calls.
CALL () {
  WITH $since IS NULL AND $until IS NULL AS everything WHERE everything
  MATCH (c:CallRecord)
  RETURN c
  UNION ALL
  WITH $since IS NOT NULL OR $until IS NOT NULL AS window WHERE window
  MATCH (c:CallRecord)
  WHERE c.startDateTime >= coalesce($since, datetime('0001-01-01T00:00:00Z'))
    AND c.startDateTime < coalesce($until, datetime('9999-12-31T00:00:00Z'))
  RETURN c
}
MATCH (c)-[:CONTAINS]->(s:Session)
WHERE s.segmentCount >= $minSegments
MATCH (s)-[sr:CALLER]->(a:Endpoint)
MATCH (s)-[er:CALLEE]->(b:Endpoint)
WITH c, s, sr, a, er, b
WHERE a.kind = 'phone' OR b.kind = 'phone' OR EXISTS {
  MATCH (s)-[:CONTAINS]->(:Segment)-[r:CALLER|CALLEE]->(e:Endpoint)
  WHERE coalesce(r.userAgentRole, e.role) IN
        ['gateway', 'mediationServer', 'mediationServerCloudConnectorEdition', 'skypeForBusinessMicrosoftTeamsGateway']
}
// the first $limit paths by start, before each one's hops are collected
WITH c, s, a, b
ORDER BY s.startDateTime, c.id, s.ordinal
LIMIT $limit
CALL (s) {
  MATCH (s)-[:CONTAINS]->(g:Segment)
  MATCH (g)-[gr:CALLER]->(ga:Endpoint)
  MATCH (g)-[gb:CALLEE]->(gc:Endpoint)
  WITH g, gr, ga, gb, gc
  ORDER BY g.startDateTime, g.ordinal
  RETURN collect({
    from: coalesce(ga.displayName, ga.id, ga.userAgent, ga.kind),
    fromRole: coalesce(gr.userAgentRole, ga.role, ga.kind),
    to: coalesce(gc.displayName, gc.id, gc.userAgent, gc.kind),
    toRole: coalesce(gb.userAgentRole, gc.role, gc.kind),
    start: g.startDateTime,
    failed: g.failureStage IS NOT NULL
  }) AS hops
}
RETURN c.id AS callRecordId,
       s.startDateTime AS start,
       coalesce(a.displayName, a.id, a.userAgent, a.kind) AS caller,
       coalesce(b.displayName, b.id, b.userAgent, b.kind) AS callee,
       size(hops) AS segments,
       hops,
       any(h IN hops WHERE h.failed) AS failed
ORDER BY start, callRecordId, s.ordinal
LIMIT $limit
