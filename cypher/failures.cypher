// name: failures
// title: Failures by stage, reason and role
// category: calls
// description: Failed segments grouped by failure stage (callSetup, midcall), the reason Graph
//   gives, and the roles at the two ends of the failing segment (gateway, mediationServer,
//   user, ...): how many calls and segments, and when it last happened.
// param: since datetime = null | example: 2026-11-01T00:00:00Z | calls starting at or after this
// param: until datetime = null | example: 2026-11-08T00:00:00Z | calls starting before this
// param: limit int = 100 | most rows to return
// param: fresh bool = false | read the calls even where the summaries are current (see callgraph summarize)
// summary: as is
//
// In Neo4j Browser, run these first:
// :param since => null
// :param until => null
// :param limit => 100
// :param fresh => false
// Without a window: the rows `callgraph summarize` kept, while no load has written call records
// since (fresh = true reads the calls anyway). Otherwise the calls: every one, read in store order,
// or those the startDateTime index finds in the window.
OPTIONAL MATCH (state:Summaries {id: 'all'})
WITH $since IS NULL AND $until IS NULL AND NOT $fresh
     AND coalesce(state.builtFor = state.dataVersion, false) AS summarized
CALL (summarized) {
  WITH summarized WHERE summarized
  // (rank IS NOT NULL lets the (query, rank) index find the rows: no scan of every SummaryRow)
  MATCH (s:SummaryRow) WHERE s.query = 'failures' AND s.rank IS NOT NULL
  RETURN s.stage AS stage, s.reason AS reason, s.callerRole AS callerRole,
         s.calleeRole AS calleeRole, s.calls AS calls, s.segments AS segments,
         s.lastSeen AS lastSeen
  UNION ALL
  WITH summarized WHERE NOT summarized
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
  MATCH (c)-[:CONTAINS]->(:Session)-[:CONTAINS]->(g:Segment)
  WHERE g.failureStage IS NOT NULL
  MATCH (g)-[ar:CALLER]->(a:Endpoint)
  MATCH (g)-[br:CALLEE]->(b:Endpoint)
  RETURN g.failureStage AS stage,
         g.failureReason AS reason,
         coalesce(ar.userAgentRole, a.role, a.kind) AS callerRole,
         coalesce(br.userAgentRole, b.role, b.kind) AS calleeRole,
         count(DISTINCT c) AS calls,
         count(g) AS segments,
         max(g.startDateTime) AS lastSeen
  ORDER BY calls DESC, stage, reason, callerRole, calleeRole
  LIMIT $limit
}
RETURN stage, reason, callerRole, calleeRole, calls, segments, lastSeen
ORDER BY calls DESC, stage, reason, callerRole, calleeRole
LIMIT $limit
