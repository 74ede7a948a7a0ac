// name: user-calls
// title: One user's calls and who was on them
// category: people
// description: The calls of one user (given by user principal name, display name or Entra object
//   id), newest first: the call type, whether the user placed or took it, the other parties,
//   whether any of the user's own audio was poor, and whether anything failed.
// param: user string | example: abbie.wilkins@contoso.com | UPN, display name or object id
// param: since datetime = null | example: 2026-11-01T00:00:00Z | calls starting at or after this
// param: until datetime = null | example: 2026-11-08T00:00:00Z | calls starting before this
// param: limit int = 100 | most rows to return
//
// In Neo4j Browser, run these first (with the user you are after):
// :param user => 'abbie.wilkins@contoso.com'
// :param since => null
// :param until => null
// :param limit => 100
MATCH (u:Endpoint)
WHERE u.userPrincipalName = $user OR u.displayName = $user OR u.id = $user
MATCH (c:CallRecord)-[:CONTAINS]->(s:Session)-[side:CALLER|CALLEE]->(u)
WHERE c.startDateTime >= coalesce($since, datetime('0001-01-01T00:00:00Z'))
  AND c.startDateTime < coalesce($until, datetime('9999-12-31T00:00:00Z'))
WITH u, c, collect(DISTINCT type(side)) AS sides, collect(DISTINCT s) AS sessions
CALL (u, c) {
  OPTIONAL MATCH (c)-[:PARTICIPANT|ORGANIZED_BY]->(p:Endpoint)
  WHERE p <> u
  RETURN collect(DISTINCT coalesce(p.displayName, p.id, p.kind)) AS peers
}
CALL (sessions) {
  UNWIND sessions AS s
  OPTIONAL MATCH (s)-[:CONTAINS]->(g:Segment)
  OPTIONAL MATCH (g)-[:CONTAINS]->(:Media)-[:CONTAINS]->(st:Stream {modality: 'audio', quality: 'poor'})
  RETURN count(st) > 0 AS poor, count(CASE WHEN g.failureStage IS NOT NULL THEN 1 END) > 0 AS failed
}
RETURN c.id AS callRecordId, c.startDateTime AS start, c.type AS type,
       CASE WHEN 'CALLER' IN sides THEN 'placed' ELSE 'received' END AS direction,
       peers, poor, failed, c.durationMs AS durationMs
ORDER BY start DESC
LIMIT $limit
