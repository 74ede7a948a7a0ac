// name: reliability
// title: Setup failures, drops and poor audio by building and inside/outside, against the targets
// category: places
// description: The quality review guide's three measures for audio, next to its targets: setup
//   failure rate (media lines whose segment, else session, failed at callSetup / all), drop
//   failure rate (those that failed midcall / those that set up), and poor stream rate (poor /
//   classified audio streams, as the Call Quality Dashboard computes it). One row per building
//   and side of the corporate network (a line counts in each building a client end of it was
//   placed in, once), then one row for all lines inside the corporate network (every client end
//   on an InsideCorp network) and one for all the others (outside, unmapped included). Targets:
//   inside 0.5 % setup, 2 % drop, 2 % poor, otherwise 1 %, 3 %, 3 %. misses names the measures
//   over their target, rates are null where nothing was counted.
// param: since datetime = null | example: 2026-11-01T00:00:00Z | calls starting at or after this
// param: until datetime = null | example: 2026-11-08T00:00:00Z | calls starting before this
// param: limit int = 100 | most rows to return
//
// In Neo4j Browser, run these first:
// :param since => null
// :param until => null
// :param limit => 100
// The calls: every one, read in store order, or those the startDateTime index finds in the window.
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
MATCH (c)-[:CONTAINS]->(session:Session)-[:CONTAINS]->(seg:Segment)-[:CONTAINS]->(m:Media)
WHERE m.modality = 'audio' AND (m.callerClient OR m.calleeClient)
WITH m, coalesce(seg.failureStage, session.failureStage) AS stage,
     m.callerRatedStreams + m.calleeRatedStreams AS rated, m.callerPoorStreams + m.calleePoorStreams AS poor,
     [(m)-[:CALLER_AT|CALLEE_AT]->(n:Network) | n] AS places,
     size([client IN [m.callerClient, m.calleeClient] WHERE client]) AS clients
// where each line counts: each building a client end is in (with that network's side), and inside or outside
WITH m, stage, rated, poor,
     [n IN places | {scope: 'building', building: [(n)-[:IN_BUILDING]->(b:Building) | b.name][0], inside: n.insideCorp}]
     + [{scope: 'corporate network', building: null,
         inside: size([n IN places WHERE n.insideCorp]) = clients}] AS counted
UNWIND counted AS at
WITH DISTINCT at, m, stage, rated, poor
WITH at.scope AS scope, at.building AS building, at.inside AS inside, count(m) AS lines,
     sum(CASE stage WHEN 'callSetup' THEN 1 ELSE 0 END) AS setupFailures,
     sum(CASE stage WHEN 'midcall' THEN 1 ELSE 0 END) AS drops,
     sum(rated) AS streams, sum(poor) AS poorStreams
WITH scope, building, inside, lines, setupFailures, drops, streams, poorStreams,
     CASE WHEN inside THEN 0.005 ELSE 0.01 END AS setupTarget,
     CASE WHEN inside THEN 0.02 ELSE 0.03 END AS dropTarget,
     CASE WHEN inside THEN 0.02 ELSE 0.03 END AS poorTarget,
     toFloat(setupFailures) / lines AS setupRate,
     CASE WHEN lines > setupFailures THEN toFloat(drops) / (lines - setupFailures) END AS dropRate,
     CASE WHEN streams > 0 THEN toFloat(poorStreams) / streams END AS poorRate
RETURN scope, building, inside, lines, setupFailures, round(setupRate, 4) AS setupFailureRate, setupTarget,
       drops, round(dropRate, 4) AS dropFailureRate, dropTarget,
       streams, poorStreams, round(poorRate, 4) AS poorRatio, poorTarget,
       [miss IN [CASE WHEN setupRate > setupTarget THEN 'setup' END, CASE WHEN dropRate > dropTarget THEN 'drop' END,
                 CASE WHEN poorRate > poorTarget THEN 'poor' END] WHERE miss IS NOT NULL] AS misses
ORDER BY scope, size(misses) DESC, poorRatio DESC, building, inside
LIMIT $limit
